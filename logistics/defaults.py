"""What a new installation starts with: the common couriers, SF Express's bulk-order sheet
as an example template, and the usual Chinese courier status texts. All of it is data an
administrator edits in the site; loading again leaves existing rows alone.
"""

from __future__ import annotations

from django.db import transaction

from logistics.choices import ColumnSource as C
from logistics.choices import CourierStatus as S

COURIERS = [
    ("sf", "顺丰速运", True),
    ("ems", "EMS 中国邮政", True),
    ("zto", "中通快递", True),
    ("yto", "圆通速递", True),
    ("jd", "京东物流", True),
]

# The columns of SF Express's public bulk-order sheet (批量下单模板), in its order. Sender
# columns are fixed values the administrator fills in once.
SF_TEMPLATE = [
    ("用户订单号", C.ORDER_NUMBER, ""),
    ("寄件公司", C.FIXED, ""),
    ("寄件联系人", C.FIXED, ""),
    ("寄件电话", C.FIXED, ""),
    ("寄件详细地址", C.FIXED, ""),
    ("收件公司", C.EMPTY, ""),
    ("收件联系人", C.RECIPIENT, ""),
    ("收件电话", C.PHONE, ""),
    ("收件手机", C.PHONE, ""),
    ("收件省", C.PROVINCE, ""),
    ("收件市", C.CITY, ""),
    ("收件区/县", C.DISTRICT, ""),
    ("收件详细地址", C.FULL_ADDRESS, ""),
    ("付款方式", C.FIXED, "寄付月结"),
    ("托寄物内容", C.GOODS, ""),
    ("托寄物数量", C.PIECES, ""),
    ("实际重量(KG)", C.WEIGHT, ""),
    ("业务类型", C.FIXED, "顺丰标快"),
    ("代收货款金额", C.COD_AMOUNT, ""),
    ("声明价值", C.DECLARED_VALUE, ""),
    ("备注", C.REMARK, ""),
]

# Used for a courier that has no template of its own.
GENERIC_TEMPLATE = [
    ("订单号", C.ORDER_NUMBER, ""),
    ("收件人", C.RECIPIENT, ""),
    ("收件电话", C.PHONE, ""),
    ("省", C.PROVINCE, ""),
    ("市", C.CITY, ""),
    ("区/县", C.DISTRICT, ""),
    ("详细地址", C.STREET, ""),
    ("物品", C.GOODS, ""),
    ("件数", C.PIECES, ""),
    ("重量(KG)", C.WEIGHT, ""),
    ("代收金额", C.COD_AMOUNT, ""),
    ("备注", C.REMARK, ""),
]

STATUS_TEXTS = {
    S.PICKED_UP: ["已揽收", "揽收", "已揽件", "揽件", "已收件", "收件", "已取件"],
    S.IN_TRANSIT: ["运输中", "在途", "在途中", "已发出", "到达", "中转", "转运中", "已到达"],
    S.OUT_FOR_DELIVERY: ["派送中", "派件中", "正在派送", "派件", "待派送", "派送"],
    S.DELIVERED: ["已签收", "签收", "妥投", "已妥投", "本人签收", "他人代收", "代签收"],
    S.REFUSED: ["拒收", "拒签", "客户拒收", "已拒收", "拒收退回"],
    S.RETURNING: ["退回中", "退件中", "返回中", "退回", "退件", "转退"],
    S.RETURNED: ["已退回", "退回签收", "退件签收", "已退件", "退回妥投"],
    S.PROBLEM: ["问题件", "异常", "疑难件", "滞留", "地址错误", "电话错误", "破损"],
}


def status_mappings_load(apps=None) -> int:
    StatusMapping = (apps or _apps()).get_model("logistics", "StatusMapping")
    from logistics.readers import normalize_text

    existing = set(
        StatusMapping.objects.filter(courier__isnull=True).values_list("text", flat=True)
    )
    new = []
    for status, texts in STATUS_TEXTS.items():
        for text in texts:
            text = normalize_text(text)
            if text not in existing:
                existing.add(text)
                new.append(StatusMapping(text=text, status=status.value))
    StatusMapping.objects.bulk_create(new)
    return len(new)


def courier_templates_load() -> int:
    """Create the common couriers, SF's template and the status texts; idempotent.
    Returns how many rows were created."""
    from logistics.models import ExportTemplate, TemplateColumn
    from tvshop.catalog.models import Courier

    created = 0
    with transaction.atomic():
        for code, name, cod in COURIERS:
            if (
                Courier.objects.filter(code=code).exists()
                or Courier.objects.filter(name=name).exists()
            ):
                continue
            Courier.objects.create(code=code, name=name, supports_cod=cod)
            created += 1
        sf = (
            Courier.objects.filter(code__iexact="sf").first()
            or Courier.objects.filter(name__startswith="顺丰").first()
        )
        if sf is not None and not ExportTemplate.objects.filter(courier=sf).exists():
            template = ExportTemplate.objects.create(courier=sf, name="顺丰批量下单模板")
            TemplateColumn.objects.bulk_create(
                TemplateColumn(
                    template=template, position=i, header=header, source=source, fixed_value=fixed
                )
                for i, (header, source, fixed) in enumerate(SF_TEMPLATE, start=1)
            )
            created += 1 + len(SF_TEMPLATE)
        created += status_mappings_load()
    return created


def _apps():
    from django.apps import apps

    return apps
