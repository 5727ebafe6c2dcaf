"""Generate ``divisions.json`` (province/city/district, GB/T 2260 codes) from the npm
package ``china-division`` (data of the National Bureau of Statistics, kept by modood).

Re-run when the package publishes new divisions:

    cd "$(mktemp -d)" && npm install china-division@2.7.0
    python crm/data/generate_divisions.py <that dir>/node_modules/china-division/dist/pca-code.json

then add a data migration that loads the new file (codes are stable keys; existing
addresses keep theirs).
"""

import json
import sys
from pathlib import Path

MUNICIPALITY_CITY_NAMES = {"市辖区": "{province}", "县": "{province}郊县"}


def main(source: str) -> None:
    tree = json.loads(Path(source).read_text(encoding="utf-8"))
    rows = []
    for province in tree:
        rows.append([province["code"], province["name"], None])
        for city in province.get("children", []):
            name = MUNICIPALITY_CITY_NAMES.get(city["name"], city["name"]).format(
                province=province["name"]
            )
            rows.append([city["code"], name, province["code"]])
            for district in city.get("children", []):
                rows.append([district["code"], district["name"], city["code"]])
    out = Path(__file__).with_name("divisions.json")
    out.write_text(
        json.dumps(
            {"source": "china-division@2.7.0 pca-code.json", "rows": rows},
            ensure_ascii=False,
            separators=(",", ":"),
        ),
        encoding="utf-8",
    )
    print(f"{len(rows)} divisions written to {out}")


if __name__ == "__main__":
    main(sys.argv[1])
