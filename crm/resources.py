"""Customer import and export (django-import-export), xlsx and csv.

Columns: name, salutation, level, member_no, phones, province, city, district, street,
postal_code, notes. ``phones`` holds several numbers separated by ``;`` or ``/``.

Import goes row by row through ``crm.services.customers.customer_import_row`` (so the
same rules, normalisation and audit apply as on the pages); a row's problem (bad phone,
unknown division, number of another customer …) marks that row invalid with its reason.
``import_data(dry_run=True)`` previews inside a transaction that is rolled back.

Export writes the phones as the exporting user may see them (masked unless the user has
``crm.view_full_phone``) and neutralises cells that a spreadsheet would run as a formula.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import tablib
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from import_export import fields, resources
from import_export.formats.base_formats import CSV, XLSX
from import_export.results import RowResult

from crm.choices import CustomerLevel, DivisionLevel, Salutation
from crm.masking import phone_for_user
from crm.models import Customer, Division
from crm.phones import split_phone_list
from crm.services.customers import customer_import_row
from tvshop.errors import DomainError

COLUMNS = [
    "name",
    "salutation",
    "level",
    "member_no",
    "phones",
    "province",
    "city",
    "district",
    "street",
    "postal_code",
    "notes",
]
# Headers people write in Chinese spreadsheets.
HEADER_ALIASES = {
    "姓名": "name",
    "称呼": "salutation",
    "级别": "level",
    "等级": "level",
    "会员号": "member_no",
    "电话": "phones",
    "手机": "phones",
    "省": "province",
    "省份": "province",
    "市": "city",
    "城市": "city",
    "区": "district",
    "区县": "district",
    "地址": "street",
    "街道地址": "street",
    "邮编": "postal_code",
    "备注": "notes",
}
FORMATS = {"xlsx": XLSX, "csv": CSV}
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutralize(value):
    """Make a cell inert in spreadsheets (CSV/formula injection): prefix with '."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # numbers typed into numeric cells
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return str(value).strip()


def _choice(value: str, choices, field_name: str) -> str:
    if not value:
        return ""
    wanted = value.strip().lower()
    for code, label in choices.choices:
        if wanted in {str(code).lower(), str(label).lower()}:
            return code
    extra = {"先生": "mr", "女士": "ms", "小姐": "ms", "普通": "normal", "黑名单": "blacklisted"}
    if value.strip() in extra and extra[value.strip()] in choices.values:
        return extra[value.strip()]
    raise ValidationError(
        {field_name: [_("“%(value)s” is not a valid choice.") % {"value": value}]}
    )


@dataclass
class _DivisionLookup:
    """Province/city/district by name, cached for one import."""

    cache: dict = field(default_factory=dict)

    def find(self, name: str, level: int, parent: Division | None) -> Division | None:
        key = (name, level, getattr(parent, "pk", None))
        if key not in self.cache:
            qs = Division.objects.filter(level=level)
            if parent is not None:
                qs = qs.filter(parent=parent)
            found = qs.filter(name=name).first()
            if found is None and level == DivisionLevel.PROVINCE:
                found = qs.filter(name__startswith=name).first() if len(name) >= 2 else None
            self.cache[key] = found
        return self.cache[key]


class CustomerResource(resources.ModelResource):
    name = fields.Field(column_name="name", attribute="name")
    salutation = fields.Field(column_name="salutation", attribute="salutation")
    level = fields.Field(column_name="level", attribute="level")
    member_no = fields.Field(column_name="member_no", attribute="member_no")
    phones = fields.Field(column_name="phones")
    province = fields.Field(column_name="province")
    city = fields.Field(column_name="city")
    district = fields.Field(column_name="district")
    street = fields.Field(column_name="street")
    postal_code = fields.Field(column_name="postal_code")
    notes = fields.Field(column_name="notes", attribute="notes")

    class Meta:
        model = Customer
        fields = COLUMNS
        export_order = COLUMNS
        import_id_fields = ()
        skip_diff = True
        use_transactions = True

    def __init__(self, *, user, **kwargs):
        super().__init__(**kwargs)
        self.user = user
        self.divisions = _DivisionLookup()

    # --- export ---------------------------------------------------------------------
    def _default_address(self, customer):
        addresses = list(customer.addresses.all())
        for address in addresses:
            if address.is_default:
                return address
        return addresses[0] if addresses else None

    def dehydrate_phones(self, customer):
        return "; ".join(phone_for_user(p.number, self.user) for p in customer.phones.all())

    def dehydrate_province(self, customer):
        a = self._default_address(customer)
        return a.province.name if a else ""

    def dehydrate_city(self, customer):
        a = self._default_address(customer)
        return a.city.name if a else ""

    def dehydrate_district(self, customer):
        a = self._default_address(customer)
        return a.district.name if a else ""

    def dehydrate_street(self, customer):
        a = self._default_address(customer)
        return a.street if a else ""

    def dehydrate_postal_code(self, customer):
        a = self._default_address(customer)
        return a.postal_code if a else ""

    def export_field(self, field, instance, **kwargs):
        return neutralize(super().export_field(field, instance, **kwargs))

    # --- import ---------------------------------------------------------------------
    def before_import(self, dataset, **kwargs):
        headers = [
            HEADER_ALIASES.get(_cell(h), _cell(h).lower().replace(" ", "_"))
            for h in dataset.headers or []
        ]
        dataset.headers = headers
        missing = [c for c in ("name", "phones") if c not in headers]
        if missing:
            raise ValidationError(
                _("The file lacks the column(s): %(columns)s.") % {"columns": ", ".join(missing)}
            )

    def _address(self, row: dict) -> dict | None:
        names = {k: _cell(row.get(k)) for k in ("province", "city", "district", "street")}
        if not any(names.values()):
            return None
        errors = {}
        province = city = district = None
        if names["province"]:
            province = self.divisions.find(names["province"], DivisionLevel.PROVINCE, None)
            if province is None:
                errors["province"] = [
                    _("Unknown province “%(name)s”.") % {"name": names["province"]}
                ]
        if province and names["city"]:
            city = self.divisions.find(names["city"], DivisionLevel.CITY, province)
            if city is None:
                errors["city"] = [
                    _("Unknown city “%(name)s” in %(parent)s.")
                    % {"name": names["city"], "parent": province.name}
                ]
        if city and names["district"]:
            district = self.divisions.find(names["district"], DivisionLevel.DISTRICT, city)
            if district is None:
                errors["district"] = [
                    _("Unknown district “%(name)s” in %(parent)s.")
                    % {"name": names["district"], "parent": city.name}
                ]
        for key in ("province", "city", "district", "street"):
            if not names[key] and key not in errors:
                errors[key] = [_("Complete the address or leave it empty.")]
        if errors:
            raise ValidationError(errors)
        return {
            "province": province,
            "city": city,
            "district": district,
            "street": names["street"],
            "postal_code": _cell(row.get("postal_code")),
        }

    def import_row(self, row, instance_loader, **kwargs):
        result = self.get_row_result_class()()
        try:
            address = self._address(row)
            outcome, customer = customer_import_row(
                actor=self.user,
                name=_cell(row.get("name")),
                phones=split_phone_list(_cell(row.get("phones"))),
                salutation=_choice(_cell(row.get("salutation")), Salutation, "salutation"),
                level=_choice(_cell(row.get("level")), CustomerLevel, "level"),
                member_no=_cell(row.get("member_no")),
                notes=_cell(row.get("notes")),
                address=address,
            )
            result.import_type = {
                "new": RowResult.IMPORT_TYPE_NEW,
                "update": RowResult.IMPORT_TYPE_UPDATE,
                "skip": RowResult.IMPORT_TYPE_SKIP,
            }[outcome]
            result.add_instance_info(customer)
        except ValidationError as exc:
            result.import_type = RowResult.IMPORT_TYPE_INVALID
            result.validation_error = exc
        except DomainError as exc:
            result.import_type = RowResult.IMPORT_TYPE_INVALID
            result.validation_error = ValidationError(exc.fields or {"__all__": [exc.message]})
        return result


def dataset_from_upload(content: bytes, fmt: str) -> tablib.Dataset:
    """Read an uploaded file; raises ValueError with a readable reason."""
    try:
        if fmt == "csv":
            text = content.decode("utf-8-sig")
            return CSV().create_dataset(text)
        return XLSX().create_dataset(content)
    except UnicodeDecodeError as exc:
        raise ValueError(_("The CSV file must be UTF-8 encoded.")) from exc
    except Exception as exc:
        raise ValueError(_("The file could not be read as %(fmt)s.") % {"fmt": fmt}) from exc


def row_problems(result) -> list[dict]:
    """Each bad row: its line in the spreadsheet (the header is line 1) and reasons."""
    problems = []
    for invalid in result.invalid_rows:
        reasons = []
        for name, messages in invalid.error_dict.items():
            label = "" if name in ("__all__", "NON_FIELD_ERRORS") else f"{name}: "
            reasons.extend(f"{label}{m}" for m in messages)
        problems.append({"line": invalid.number + 1, "reasons": reasons, "values": invalid.values})
    for number, errors in result.row_errors():
        problems.append(
            {"line": number + 1, "reasons": [str(e.error) for e in errors], "values": ()}
        )
    for error in result.base_errors:
        problems.append({"line": None, "reasons": [str(error.error)], "values": ()})
    return sorted(problems, key=lambda p: p["line"] or 0)


def export_customers(queryset, *, user, fmt: str) -> tuple[bytes, str]:
    """(file content, content type) of the customers, phones masked for ``user``."""
    resource = CustomerResource(user=user)
    queryset = queryset.prefetch_related(
        "addresses__province", "addresses__city", "addresses__district"
    )
    dataset = resource.export(queryset=queryset)
    file_format = FORMATS[fmt]()
    data = file_format.export_data(dataset)
    if isinstance(data, str):
        data = ("\ufeff" + data).encode("utf-8")  # BOM: Excel opens UTF-8 CSV correctly
    return data, file_format.get_content_type()
