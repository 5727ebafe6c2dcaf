"""Demo data (``manage.py load_demo``) and bulk customer generation (``generate_customers``).

Everything here is made up but realistic: Chinese names, real provinces/cities/districts
from the ``Division`` table, valid mobile prefixes, 400 hotlines, products a TV-shopping
company sells. Rows are written with ``bulk_create`` (or PostgreSQL ``COPY`` for the
million-customer benchmark) instead of the per-row services, so this module keeps the
services' invariants itself: one primary phone and one default address per customer,
unique E.164 numbers, unique member numbers. FAQ entries and scripts go through the
knowledge services when they exist, so their derived columns (search text, placeholders
check) are maintained the same way as for entries typed in the UI.

The demo password is never in the repository: it is generated on the first load and kept
in ``var/demo_password`` (``var/`` is ignored by git).
"""

from __future__ import annotations

import datetime as dt
import itertools
import random
import secrets
import string
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import phonenumbers
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from phonenumbers import geocoder

from crm.choices import (
    ContactChannel,
    CustomerLevel,
    DivisionLevel,
    PhoneKind,
    Salutation,
    ScriptStage,
)
from crm.models import FAQ, Address, Customer, CustomerPhone, Division, Script, ServiceRecord
from crm.phones import NormalizedPhone, phone_normalize, split_region
from crm.services.knowledge import faq_save, script_save
from tvshop.accounts.roles import Role
from tvshop.audit.models import AuditAction
from tvshop.audit.services import audit_record
from tvshop.catalog.models import Gift, Product, Supplier
from tvshop.env import VAR_DIR
from tvshop.errors import DomainError
from tvshop.media.models import AiringSlot, Hotline, Station

SHANGHAI = ZoneInfo("Asia/Shanghai")
DEMO_SEED = 20260101
DEMO_CUSTOMERS = 2000
DEMO_AGENTS = 60
PASSWORD_FILE = "demo_password"

# --------------------------------------------------------------------------------------
# Users
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DemoUser:
    username: str
    full_name: str
    employee_no: str
    roles: tuple[str, ...]
    superuser: bool = False


# Fixed names for the non-agent roles; agents get generated names (seeded, stable).
_STAFF = [
    DemoUser("admin", "系统管理员", "S0001", (Role.ADMINISTRATOR,), superuser=True),
    DemoUser("reviewer1", "孙丽娟", "R0001", (Role.REVIEWER_FIRST,)),
    DemoUser("reviewer2", "周建国", "R0002", (Role.REVIEWER_SECOND,)),
    DemoUser("logistics", "吴志强", "L0001", (Role.LOGISTICS,)),
    DemoUser("finance", "郑晓梅", "F0001", (Role.FINANCE,)),
    DemoUser("supervisor", "陈海燕", "M0001", (Role.SUPERVISOR,)),
]


def demo_users() -> list[DemoUser]:
    rng = random.Random(DEMO_SEED + 1)
    agents = [
        DemoUser(f"agent{i:02d}", chinese_name(rng)[0], f"A{i:04d}", (Role.AGENT,))
        for i in range(1, DEMO_AGENTS + 1)
    ]
    return [_STAFF[0], *agents, *_STAFF[1:]]


# --------------------------------------------------------------------------------------
# Names
# --------------------------------------------------------------------------------------

# The most common surnames, most frequent first (weights fall off like the real ones).
SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶"
    "程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾"
    "毛郝龚邵万钱严覃武戴莫孔向汤"
)
COMPOUND_SURNAMES = ["欧阳", "司马", "上官", "诸葛", "东方"]
_SURNAME_CUM_WEIGHTS = list(itertools.accumulate(1 / (i + 8) for i in range(len(SURNAMES))))
GIVEN_MALE = "伟强磊军勇杰涛斌超明刚平辉鹏华飞鑫波宇浩凯健俊帆帅旭宁龙林欢佳阳建国志文海峰"
GIVEN_FEMALE = "芳娜敏静丽艳娟霞秀英华慧巧美淑惠珠翠雅芝玉萍红娥玲芬燕彩春菊兰凤洁梅琳素云莲"


def chinese_name(rng: random.Random) -> tuple[str, str]:
    """A plausible Chinese full name and the matching salutation (Mr./Ms.)."""
    if rng.random() < 0.01:
        surname = rng.choice(COMPOUND_SURNAMES)
    else:
        surname = rng.choices(SURNAMES, cum_weights=_SURNAME_CUM_WEIGHTS)[0]
    male = rng.random() < 0.45
    chars = GIVEN_MALE if male else GIVEN_FEMALE
    given = rng.choice(chars)
    if rng.random() < 0.7:
        given += rng.choice(chars)
    return surname + given, Salutation.MR if male else Salutation.MS


# --------------------------------------------------------------------------------------
# Base data: stations, hotlines, suppliers, products, gifts, airing slots
# --------------------------------------------------------------------------------------

STATIONS = [
    # code, name, region
    ("hunan-tv", "湖南卫视", "湖南省"),
    ("zhejiang-tv", "浙江卫视", "浙江省"),
    ("jiangsu-tv", "江苏卫视", "江苏省"),
    ("dragon-tv", "东方卫视", "上海市"),
    ("shandong-tv", "山东卫视", "山东省"),
]

HOTLINES = [
    # dialled number, station code, queue name, default product SKU
    ("4008001234", "hunan-tv", "hunan_main", "TV-KT-001"),
    ("4008001235", "hunan-tv", "hunan_night", "TV-HL-006"),
    ("4006012345", "zhejiang-tv", "zhejiang_main", "TV-JF-008"),
    ("4006012346", "zhejiang-tv", "zhejiang_jewelry", "TV-ZB-011"),
    ("4008206688", "jiangsu-tv", "jiangsu_main", "TV-KT-002"),
    ("4008208899", "dragon-tv", "dragon_main", "TV-JK-014"),
    ("4008208866", "dragon-tv", "dragon_health", "TV-JK-015"),
    ("4001105566", "shandong-tv", "shandong_main", "TV-SP-019"),
]

SUPPLIERS = [
    # name, contact, phone
    ("永康市鑫厨炊具有限公司", "应国华", "0579-87123456"),
    ("厦门康悦健康科技有限公司", "林志伟", "0592-5567890"),
    ("南通梦洁家纺有限公司", "顾春燕", "0513-85512345"),
    ("深圳金福珠宝首饰有限公司", "黄振华", "0755-25561234"),
    ("宁夏红宝枸杞产业有限公司", "马学军", "0951-6012345"),
    ("杭州汇丰服饰有限公司", "沈丽萍", "0571-86654321"),
]

# sku, name, price, cost, weight kg, supplier index, description
PRODUCTS = [
    ("TV-KT-001", "多功能电热料理锅", "299.00", "118.00", "3.2", 0, "煎炒焖炖涮一锅搞定，4L大容量"),
    ("TV-KT-002", "不粘炒锅三件套", "398.00", "145.00", "4.5", 0, "炒锅、汤锅、煎锅，麦饭石涂层"),
    ("TV-KT-003", "智能空气炸锅5.5L", "399.00", "156.00", "4.8", 0, "无油煎炸，可视窗口"),
    ("TV-KT-004", "高速破壁料理机", "699.00", "268.00", "5.1", 0, "八叶刀头，冷热双打"),
    ("TV-KT-005", "304不锈钢保温杯两只装", "159.00", "52.00", "0.9", 0, "12小时保温"),
    ("TV-HL-006", "全身多功能按摩椅", "6980.00", "2980.00", "68.0", 1, "零重力太空舱，3D机芯"),
    ("TV-HL-007", "颈肩腰背按摩仪", "499.00", "168.00", "1.6", 1, "热敷揉捏，车家两用"),
    ("TV-JF-008", "新疆长绒棉四件套", "699.00", "236.00", "3.0", 2, "1.8米床，120支贡缎"),
    ("TV-JF-009", "桑蚕丝被", "1280.00", "520.00", "3.5", 2, "100%桑蚕长丝，春秋被"),
    ("TV-JF-010", "澳洲羊毛冬被", "899.00", "330.00", "4.2", 2, "200x230cm，加厚款"),
    ("TV-ZB-011", "足金999古法手镯", "5999.00", "5200.00", "0.2", 3, "约20克，附检测证书"),
    ("TV-ZB-012", "和田玉平安扣吊坠", "1980.00", "760.00", "0.1", 3, "附国检证书"),
    ("TV-JK-013", "防蓝光老花镜", "198.00", "38.00", "0.2", 1, "多焦点，远近两用"),
    ("TV-JK-014", "智能电子血压计", "268.00", "92.00", "0.6", 1, "上臂式，语音播报"),
    ("TV-JK-015", "家用医用制氧机", "2580.00", "1180.00", "16.0", 1, "1-5L可调，带雾化"),
    ("TV-JK-016", "电热足浴盆", "369.00", "128.00", "5.5", 1, "恒温加热，滚轮按摩"),
    ("TV-FS-017", "男士休闲羊毛衫", "328.00", "98.00", "0.5", 5, "100%绵羊毛，圆领"),
    ("TV-FS-018", "女士真丝连衣裙", "468.00", "150.00", "0.3", 5, "重磅真丝，中长款"),
    ("TV-SP-019", "五常稻花香大米10kg", "168.00", "88.00", "10.2", 4, "当季新米，产地直发"),
    ("TV-SP-020", "宁夏黑枸杞礼盒", "258.00", "95.00", "0.8", 4, "特级，500克礼盒装"),
]

# sku, name, value, stock, supplier index
GIFTS = [
    ("GF-01", "硅胶锅铲套装", "39.00", 800, 0),
    ("GF-02", "玻璃保鲜盒三件套", "59.00", 600, 0),
    ("GF-03", "记忆棉按摩靠枕", "89.00", 300, 1),
    ("GF-04", "真丝眼罩", "49.00", 500, 2),
    ("GF-05", "绒面首饰盒", "69.00", 200, 3),
    ("GF-06", "眼镜布与眼镜盒套装", "19.00", 1000, 1),
    ("GF-07", "真空压缩收纳袋", "29.00", 900, 2),
    ("GF-08", "不锈钢蒸笼", "45.00", 400, 0),
    ("GF-09", "羊绒围巾", "128.00", 150, 5),
    ("GF-10", "定制帆布购物袋", "15.00", 2000, 4),
]

# Daily airing times (local), minutes on air
AIRING_TIMES = [(9, 30, 20), (13, 0, 15), (19, 45, 30), (22, 30, 25)]
AIRING_DAYS_BACK = 7
AIRING_DAYS_AHEAD = 3

# --------------------------------------------------------------------------------------
# Knowledge: scripts per product and stage, FAQ
# --------------------------------------------------------------------------------------

# Placeholders of crm.services.knowledge: {name} {surname} {salutation} {last_product}
# {agent_name} {product}. Fixed facts of the product ([feature], [price], [gift]) are
# filled in when the demo is loaded.
SCRIPT_STAGES = {
    "opening": (
        "开场",
        "您好，感谢您拨打订购热线，我是客服{agent_name}，很高兴为您服务！"
        "请问您是看到节目里的{product}打进来的吗？怎么称呼您？",
    ),
    "pitch": (
        "产品介绍",
        "{product}是我们今天节目里的热销款，[feature]。今天电视订购价只要[price]元，"
        "现在订购还送[gift]，货到付款，收到货满意再付钱。",
    ),
    "objection": (
        "异议处理",
        "{surname}{salutation}，我理解您的顾虑。{product}支持7天无理由退货，货到付款，"
        "您收到后先验货，满意再签收付款，不满意可以直接拒收，不花一分冤枉钱。",
    ),
    "closing": (
        "促成下单",
        "{surname}{salutation}，那我帮您把{product}订上，和您核对一下收货地址和电话，"
        "今天下单明天就给您发货，请您保持电话畅通，快递员送货前会联系您。",
    ),
}
RETURNING_GREETING = (
    "老客户问候",
    "{surname}{salutation}您好！欢迎您再次来电，上次您订的{last_product}用得还满意吗？"
    "今天有什么可以帮您？",
)

FAQS: list[tuple[str, str, str, str]] = [
    # category, question, answer, keywords
    (
        "退换货",
        "收到货不满意可以退货吗？",
        "支持7天无理由退货：自签收之日起7天内，商品不影响二次销售即可申请退货，请拨打订购热线登记退货。",
        "退货,无理由,7天",
    ),
    (
        "退换货",
        "退货的运费由谁承担？",
        "商品质量问题的退货运费由我们承担；非质量问题的无理由退货，来回运费由顾客承担。",
        "退货,运费",
    ),
    (
        "退换货",
        "退货后多久能收到退款？",
        "我们收到退回的商品并验货无误后3个工作日内退款，原路退回；货到付款的订单退到您提供的银行卡。",
        "退货,退款,到账",
    ),
    (
        "退换货",
        "衣服尺码不合适可以换吗？",
        "可以换货：签收7天内联系客服登记换货，吊牌完好、未洗涤即可，换货运费我们承担一次。",
        "换货,尺码,退货",
    ),
    (
        "退换货",
        "食品类商品可以退货吗？",
        "食品拆封后不支持无理由退货；未拆封且在保质期内，签收7天内可以退货。",
        "退货,食品,拆封",
    ),
    (
        "退换货",
        "黄金首饰可以退货吗？",
        "黄金首饰签收7天内、附带证书和原包装、无佩戴痕迹可以退货；定制刻字款不支持退货。",
        "退货,黄金,首饰,证书",
    ),
    (
        "退换货",
        "拒收以后还需要付钱吗？",
        "不需要。货到付款的订单，您验货不满意可以当场拒收，不需要支付任何费用。",
        "拒收,退货,货到付款",
    ),
    (
        "退换货",
        "退货怎么寄回？",
        "客服登记退货后会给您退货地址和退货单号，您用任意快递寄回即可，请在包裹里附上订单号和联系电话。",
        "退货,寄回,地址",
    ),
    (
        "发货配送",
        "下单后多久发货？",
        "当天16点前下单的订单当天发货，16点以后的次日发货；预售商品以节目中说明的时间为准。",
        "发货,时间,多久",
    ),
    (
        "发货配送",
        "一般几天能收到货？",
        "江浙沪等地区一般1-2天送达，其他省份3-5天，偏远地区5-7天。",
        "发货,到货,几天,配送",
    ),
    (
        "发货配送",
        "用什么快递发货？",
        "我们与顺丰、中国邮政EMS、中通等快递合作，系统根据您的地址选择送达最快的快递公司。",
        "快递,发货,顺丰,邮政",
    ),
    (
        "发货配送",
        "怎么查询物流进度？",
        "发货后我们会发短信告诉您快递单号，您也可以拨打订购热线报手机号查询物流状态。",
        "物流,查询,快递单号,发货",
    ),
    (
        "发货配送",
        "可以指定送货时间吗？",
        "可以在下单时备注希望的送货时间，快递员送货前会电话联系您，我们尽量安排。",
        "送货时间,配送,备注",
    ),
    (
        "发货配送",
        "偏远地区可以送到吗？",
        "全国大部分地区都可以送达；部分偏远乡镇只能由邮政送达，到货时间会长一些。",
        "偏远地区,配送,邮政",
    ),
    (
        "发货配送",
        "订单可以修改收货地址吗？",
        "订单发货前可以修改收货地址，请尽快拨打订购热线；已经发货的订单需要联系快递改派。",
        "修改地址,收货地址,发货",
    ),
    (
        "发货配送",
        "家里没人怎么收货？",
        "快递员会提前电话联系您，可以约定改天送货或者请家人、邻居代收；货到付款订单代收人需要付款。",
        "代收,送货,收货",
    ),
    (
        "支付",
        "支持货到付款吗？",
        "支持。全国大部分地区都可以货到付款，收到货验货满意后把货款交给快递员即可。",
        "货到付款,付款方式,COD",
    ),
    (
        "支付",
        "货到付款可以刷卡或者扫码吗？",
        "大部分快递员支持现金、微信和支付宝扫码付款，部分地区支持刷卡，请以快递员实际情况为准。",
        "货到付款,扫码,微信,支付宝",
    ),
    (
        "支付",
        "货到付款需要额外手续费吗？",
        "不需要，货到付款不收取任何手续费，您只需支付订单金额。",
        "货到付款,手续费",
    ),
    (
        "支付",
        "可以先付款再发货吗？",
        "可以，选择在线支付的订单我们优先发货，部分活动在线支付还可以额外优惠。",
        "在线支付,付款,发货",
    ),
    (
        "支付",
        "可以开发票吗？",
        "可以开具电子普通发票，下单时告诉客服发票抬头和税号，发货后发票会发送到您的邮箱或手机。",
        "发票,电子发票,抬头",
    ),
    (
        "支付",
        "订单金额和电视上说的不一样怎么办？",
        "请以下单时客服报给您的金额为准；如果有疑问，请拨打热线，我们核对节目价格后为您处理。",
        "价格,金额,订单",
    ),
    (
        "支付",
        "可以分期付款吗？",
        "价格在2000元以上的商品支持信用卡分期，下单时告诉客服即可，具体期数以银行规定为准。",
        "分期,信用卡,付款",
    ),
    (
        "售后保修",
        "按摩椅保修多久？",
        "按摩椅整机保修3年，核心机芯保修5年，保修期内免费上门维修。",
        "保修,按摩椅,维修",
    ),
    (
        "售后保修",
        "小家电坏了怎么保修？",
        "厨房小家电一年内非人为损坏免费维修或更换，请保留购买凭证，拨打热线登记售后。",
        "保修,小家电,维修,售后",
    ),
    (
        "售后保修",
        "收到的商品有破损怎么办？",
        "请在快递员面前验货，有破损可以直接拒收；签收后发现破损，48小时内拍照联系客服，我们免费补发。",
        "破损,售后,补发",
    ),
    (
        "售后保修",
        "收到的货少了怎么办？",
        "请先核对包裹内清单，赠品有时单独发货；确认缺少的话联系客服，我们核实后立即补发。",
        "少件,补发,赠品",
    ),
    (
        "售后保修",
        "制氧机需要定期维护吗？",
        "建议每两周清洗一次过滤棉，湿化瓶每天换水；整机保修两年，终身提供维修服务。",
        "制氧机,维护,保修",
    ),
    (
        "售后保修",
        "血压计测量不准怎么办？",
        "请按说明书正确佩戴袖带、静坐5分钟后测量；如仍有偏差，可寄回免费校准或在保修期内更换。",
        "血压计,不准,校准,保修",
    ),
    (
        "售后保修",
        "黄金首饰可以终身保养吗？",
        "可以，我们提供终身免费清洗和抛光服务，寄回时请附上证书。",
        "黄金,保养,首饰",
    ),
    (
        "尺码规格",
        "羊毛衫怎么选尺码？",
        "按身高体重选择：170cm/65kg左右选L，175cm/75kg左右选XL，不确定时客服可以帮您推荐。",
        "尺码,羊毛衫,衣服",
    ),
    (
        "尺码规格",
        "连衣裙尺码偏大还是偏小？",
        "真丝连衣裙为标准尺码，平时穿M码的选M即可；胸围较大的建议选大一码。",
        "尺码,连衣裙",
    ),
    (
        "尺码规格",
        "四件套适合多大的床？",
        "四件套为1.8米床规格，被套200x230cm，床单245x250cm，1.5米床也可以使用。",
        "四件套,尺寸,规格,床",
    ),
    (
        "尺码规格",
        "手镯的圈口怎么选？",
        "常规圈口56-58mm适合大多数女性，可以用软尺量手掌最宽处，客服帮您换算圈口。",
        "手镯,圈口,尺寸",
    ),
    (
        "尺码规格",
        "料理锅能做几个人的饭？",
        "4L容量适合3-5口之家，火锅、炖汤、蒸煮都够用。",
        "料理锅,容量,规格",
    ),
    (
        "会员积分",
        "积分怎么获得？",
        "每消费1元积1分，积分在订单签收后到账，可以在下次订购时抵扣。",
        "积分,会员,获得",
    ),
    (
        "会员积分",
        "积分可以抵多少钱？",
        "100积分抵1元，单笔订单最多抵扣订单金额的20%。",
        "积分,抵扣",
    ),
    (
        "会员积分",
        "积分会过期吗？",
        "积分有效期为两年，过期前我们会短信提醒您。",
        "积分,过期,有效期",
    ),
    (
        "会员积分",
        "怎么成为VIP会员？",
        "一年内累计消费满5000元自动成为VIP会员，享受专属热线优先接听和生日礼品。",
        "VIP,会员,优惠",
    ),
    (
        "会员积分",
        "会员卡号忘记了怎么办？",
        "不用担心，拨打热线时报手机号，客服就能查到您的会员信息。",
        "会员号,查询,手机号",
    ),
    (
        "订购",
        "怎么订购电视上的商品？",
        "拨打屏幕上显示的400订购热线，告诉客服商品名称、数量和收货地址即可，全程免长途费。",
        "订购,热线,400",
    ),
    (
        "订购",
        "热线打不进去怎么办？",
        "节目播出时来电较多，您可以稍后再拨；系统也会记录您的号码，客服空闲时会主动给您回电。",
        "占线,回电,热线",
    ),
    (
        "订购",
        "一个订单可以买多种商品吗？",
        "可以，告诉客服您要的所有商品，我们合并成一个订单发货，运费只算一次。",
        "订单,多件,合并",
    ),
    (
        "订购",
        "下单后可以取消吗？",
        "订单发货前可以免费取消，请拨打热线；已发货的订单可以拒收。",
        "取消订单,拒收",
    ),
    (
        "订购",
        "可以帮家人下单寄到别的地址吗？",
        "可以，下单时提供收货人姓名、电话和详细地址即可，货到付款由收货人付款。",
        "代下单,收货地址,家人",
    ),
    (
        "赠品",
        "赠品什么时候发？",
        "赠品和商品一起发货；个别大件赠品单独发货，会比商品晚1-3天到。",
        "赠品,发货",
    ),
    (
        "赠品",
        "赠品可以换成别的吗？",
        "赠品随活动指定，一般不能更换；赠品缺货时我们会用同等价值的赠品替代并提前告知您。",
        "赠品,更换",
    ),
    (
        "赠品",
        "退货时赠品也要退吗？",
        "整单退货时赠品需要一起退回；部分退货不影响赠品。",
        "赠品,退货",
    ),
    (
        "产品使用",
        "空气炸锅第一次使用要注意什么？",
        "第一次使用前清洗炸篮，空锅200度加热10分钟去除新机味道，之后就可以正常使用。",
        "空气炸锅,使用,首次",
    ),
    (
        "产品使用",
        "蚕丝被可以水洗吗？",
        "蚕丝被不能水洗和暴晒，建议套上被套使用，定期在阴凉通风处晾晒即可。",
        "蚕丝被,清洗,保养",
    ),
]

# Streets and compounds for addresses
STREETS = [
    "人民路",
    "解放路",
    "中山路",
    "建设路",
    "和平路",
    "新华路",
    "胜利路",
    "文化路",
    "青年路",
    "朝阳路",
    "长江路",
    "黄河路",
    "花园路",
    "光明路",
    "友谊路",
    "幸福路",
    "迎宾大道",
    "滨江路",
    "东风路",
    "团结路",
    "工农路",
    "科技路",
    "学府路",
    "南京路",
]
COMPOUNDS = [
    "阳光花园",
    "幸福小区",
    "锦绣家园",
    "翠湖苑",
    "金色港湾",
    "紫荆园",
    "丽景苑",
    "书香门第",
    "和谐家园",
    "银杏小区",
]

# Mobile prefixes that phonenumbers knows and geocodes (号码归属地) for region CN.
MOBILE_PREFIXES = [
    "130",
    "131",
    "132",
    "133",
    "134",
    "135",
    "136",
    "137",
    "138",
    "139",
    "145",
    "147",
    "150",
    "151",
    "152",
    "153",
    "155",
    "156",
    "157",
    "158",
    "159",
    "173",
    "176",
    "177",
    "180",
    "181",
    "182",
    "183",
    "185",
    "186",
    "187",
    "188",
    "189",
]
# Area codes for the few landline numbers in the demo
AREA_CODES = ["10", "21", "20", "755", "731", "571", "25", "531", "28", "27"]


# --------------------------------------------------------------------------------------
# The demo password (var/demo_password, never in the repository)
# --------------------------------------------------------------------------------------


def demo_password_path() -> Path:
    return VAR_DIR / PASSWORD_FILE


def demo_password_read() -> str | None:
    path = demo_password_path()
    if not path.exists():
        return None
    value = path.read_text(encoding="utf-8").strip()
    return value or None


def demo_password_new() -> str:
    """A random password that Django's validators accept (letters, digits, a dash)."""
    alphabet = string.ascii_letters + string.digits
    while True:
        body = "".join(secrets.choice(alphabet) for _i in range(10))
        candidate = f"Tv-{body[:5]}-{body[5:]}"
        try:
            validate_password(candidate)
        except ValidationError:
            continue
        return candidate


def demo_password_ensure() -> tuple[str, bool]:
    """The demo password from var/, generating and storing one the first time."""
    existing = demo_password_read()
    if existing:
        return existing, False
    password = demo_password_new()
    path = demo_password_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(password + "\n", encoding="utf-8")
    path.chmod(0o600)
    return password, True


# --------------------------------------------------------------------------------------
# Phone numbers
# --------------------------------------------------------------------------------------


def phone_info(raw: str) -> NormalizedPhone:
    """E.164 number, kind and home region via the services' own normaliser."""
    return phone_normalize(raw)


class MobileSpace:
    """A bijection from an integer (a customer id) to a valid CN mobile number.

    ``k = (i * A + B) mod M`` over M = len(prefixes) * 10**8 with A coprime to M, so
    distinct ids give distinct numbers that still look random.
    """

    A = 2654435761  # odd and not a multiple of 5: coprime with 2**a * 5**b * 32
    B = 918273645

    def __init__(self) -> None:
        self.prefixes = MOBILE_PREFIXES
        self.size = len(self.prefixes) * 10**8

    def national(self, i: int) -> str:
        k = (i * self.A + self.B) % self.size
        prefix, rest = divmod(k, 10**8)
        return f"{self.prefixes[prefix]}{rest:08d}"


class RegionCache:
    """Home province/city (归属地) per 7-digit block, which is all it depends on.

    The numbers come from ``MobileSpace`` and are valid by construction, so this asks the
    geocoder directly (parsing and validating each number would take most of the time of
    a million-row run) and splits the answer like ``crm.phones.phone_normalize`` does.
    """

    def __init__(self) -> None:
        self._cache: dict[str, tuple[str, str]] = {}

    def region(self, national_mobile: str) -> tuple[str, str]:
        block = national_mobile[:7]
        hit = self._cache.get(block)
        if hit is None:
            parsed = phonenumbers.PhoneNumber(country_code=86, national_number=int(national_mobile))
            description = geocoder.description_for_valid_number(parsed, "zh")
            hit = self._cache[block] = split_region(description)
        return hit


# --------------------------------------------------------------------------------------
# Member numbers and ids
# --------------------------------------------------------------------------------------


def member_no_for(pk: int) -> str:
    """The member number the customers service would give (crm.services.customers)."""
    return f"M{pk:08d}"


def reserve_ids(model, count: int) -> list[int]:
    """Take ``count`` primary keys for ``model`` so rows can be written with explicit ids."""
    table = model._meta.db_table
    pk_column = model._meta.pk.column
    if connection.vendor == "postgresql":
        with connection.cursor() as cur:
            cur.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
                [table, pk_column, count],
            )
            return [r[0] for r in cur.fetchall()]
    with connection.cursor() as cur:
        cur.execute(f'SELECT COALESCE(MAX("{pk_column}"), 0) FROM "{table}"')  # noqa: S608
        start = cur.fetchone()[0] + 1
    return list(range(start, start + count))


# --------------------------------------------------------------------------------------
# Addresses
# --------------------------------------------------------------------------------------


class DivisionPicker:
    """Random (province, city, district) triples from the Division table, cached."""

    def __init__(self) -> None:
        rows = list(
            Division.objects.filter(level=DivisionLevel.DISTRICT)
            .select_related("parent__parent")
            .values_list("code", "parent_id", "parent__parent_id")
        )
        self.triples = [(p, c, d) for d, c, p in rows if c and p]
        if not self.triples:
            raise RuntimeError("no administrative divisions: run migrate (crm 0002) first")

    def pick(self, rng: random.Random) -> tuple[str, str, str]:
        return rng.choice(self.triples)


def street_for(rng: random.Random) -> str:
    street = f"{rng.choice(STREETS)}{rng.randint(1, 999)}号"
    if rng.random() < 0.7:
        street += (
            f"{rng.choice(COMPOUNDS)}{rng.randint(1, 30)}栋"
            f"{rng.randint(1, 6)}单元{rng.randint(1, 33)}{rng.randint(1, 4):02d}室"
        )
    return street


# --------------------------------------------------------------------------------------
# Loading the demo
# --------------------------------------------------------------------------------------


def demo_present() -> bool:
    """Whether the demo (or any real data) is already in this database."""
    return get_user_model().objects.filter(username="agent01").exists() or Customer.objects.exists()


def _say(out: Callable[[str], None] | None, text: str) -> None:
    if out is not None:
        out(text)


def demo_load(*, out: Callable[[str], None] | None = None) -> dict[str, int]:
    """Load the demo; idempotent: what exists (by natural key) is left as it is.

    Returns how many rows of each kind were created by this call.
    """
    password, _new = demo_password_ensure()
    created: dict[str, int] = {}
    with transaction.atomic():
        created["users"] = _load_users(password)
        suppliers = _load_suppliers()
        created["suppliers"] = suppliers
        created["products"] = _load_products()
        created["gifts"] = _load_gifts()
        created["stations"] = _load_stations()
        created["hotlines"] = _load_hotlines()
        created["airing_slots"] = _load_slots()
        created["courier_templates"] = _load_courier_templates()
    # Knowledge and customers go through services/bulk writes with their own transactions.
    with transaction.atomic():
        created["scripts"] = _load_scripts()
        created["faqs"] = _load_faqs()
    created["customers"] = _load_customers(out=out)
    with transaction.atomic():
        created["service_records"] = _load_service_records()
        if any(created.values()):
            audit_record(
                actor=None,
                action=AuditAction.IMPORT,
                object_type=Customer,
                note="demo data loaded: " + ", ".join(f"{k}={v}" for k, v in created.items() if v),
            )
    return created


def _load_users(password: str) -> int:
    User = get_user_model()
    wanted = demo_users()
    existing = set(
        User.objects.filter(username__in=[u.username for u in wanted]).values_list(
            "username", flat=True
        )
    )
    # One hash for all: hashing 66 times would take most of the load time.
    encoded = make_password(password)
    new = [
        User(
            username=u.username,
            full_name=u.full_name,
            first_name=u.full_name[1:],
            last_name=u.full_name[:1],
            employee_no=u.employee_no,
            is_staff=u.superuser,
            is_superuser=u.superuser,
            password=encoded,
            language="zh-hans",
        )
        for u in wanted
        if u.username not in existing
    ]
    User.objects.bulk_create(new)
    if new:
        groups = {g.name: g for g in Group.objects.filter(name__in=[r.value for r in Role])}
        by_name = {u.username: u for u in wanted}
        through = User.groups.through
        users = User.objects.filter(username__in=[u.username for u in new])
        through.objects.bulk_create(
            [
                through(user_id=user.pk, group_id=groups[role].pk)
                for user in users
                for role in by_name[user.username].roles
            ],
            ignore_conflicts=True,
        )
    _sync_passwords(password, [u.username for u in wanted], encoded)
    return len(new)


def _sync_passwords(password: str, usernames: list[str], encoded: str) -> None:
    """If var/demo_password was replaced, bring the demo users in line (one check)."""
    User = get_user_model()
    probe = User.objects.filter(username="admin").first()
    if probe is not None and not probe.check_password(password):
        User.objects.filter(username__in=usernames).update(password=encoded)


def demo_password_apply(password: str) -> None:
    """Set ``password`` on the demo users that exist (after var/demo_password was lost)."""
    _sync_passwords(password, [u.username for u in demo_users()], make_password(password))


def _load_suppliers() -> int:
    existing = set(Supplier.objects.values_list("name", flat=True))
    new = [
        Supplier(name=name, contact=contact, phone=phone)
        for name, contact, phone in SUPPLIERS
        if name not in existing
    ]
    Supplier.objects.bulk_create(new)
    return len(new)


def _load_products() -> int:
    suppliers = {s.name: s for s in Supplier.objects.filter(name__in=[s[0] for s in SUPPLIERS])}
    existing = set(Product.objects.values_list("sku", flat=True))
    new = [
        Product(
            sku=sku,
            name=name,
            price=Decimal(price),
            cost=Decimal(cost),
            weight_kg=Decimal(weight),
            supplier=suppliers[SUPPLIERS[sup][0]],
            description=desc,
        )
        for sku, name, price, cost, weight, sup, desc in PRODUCTS
        if sku not in existing
    ]
    Product.objects.bulk_create(new)
    return len(new)


def _load_gifts() -> int:
    suppliers = {s.name: s for s in Supplier.objects.filter(name__in=[s[0] for s in SUPPLIERS])}
    existing = set(Gift.objects.values_list("sku", flat=True))
    new = [
        Gift(
            sku=sku,
            name=name,
            value=Decimal(value),
            stock=stock,
            supplier=suppliers[SUPPLIERS[sup][0]],
        )
        for sku, name, value, stock, sup in GIFTS
        if sku not in existing
    ]
    Gift.objects.bulk_create(new)
    return len(new)


def _load_stations() -> int:
    existing = set(Station.objects.values_list("code", flat=True))
    new = [
        Station(code=code, name=name, region=region)
        for code, name, region in STATIONS
        if code not in existing
    ]
    Station.objects.bulk_create(new)
    return len(new)


def _load_hotlines() -> int:
    stations = {s.code: s for s in Station.objects.filter(code__in=[s[0] for s in STATIONS])}
    products = {p.sku: p for p in Product.objects.filter(sku__in=[p[0] for p in PRODUCTS])}
    existing = set(Hotline.objects.values_list("number", flat=True))
    new = [
        Hotline(number=number, station=stations[st], queue_name=queue, product=products.get(sku))
        for number, st, queue, sku in HOTLINES
        if number not in existing
    ]
    Hotline.objects.bulk_create(new)
    return len(new)


def _load_slots() -> int:
    stations = list(Station.objects.filter(code__in=[s[0] for s in STATIONS]).order_by("code"))
    if AiringSlot.objects.filter(station__in=stations).exists():
        return 0
    hotlines: dict[int, list[Hotline]] = {}
    for h in Hotline.objects.filter(station__in=stations).select_related("product"):
        hotlines.setdefault(h.station_id, []).append(h)
    products = list(Product.objects.filter(sku__in=[p[0] for p in PRODUCTS]).order_by("sku"))
    rng = random.Random(DEMO_SEED + 2)
    today = timezone.localdate(timezone=SHANGHAI)
    slots = []
    for offset in range(-AIRING_DAYS_BACK, AIRING_DAYS_AHEAD + 1):
        day = today + dt.timedelta(days=offset)
        for station in stations:
            lines = hotlines.get(station.pk)
            if not lines:
                continue
            for hour, minute, minutes in AIRING_TIMES:
                hotline = rng.choice(lines)
                product = hotline.product if rng.random() < 0.6 and hotline.product else None
                product = product or rng.choice(products)
                start = dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=SHANGHAI)
                prime = hour >= 19
                cost = Decimal(rng.randrange(30, 90 if prime else 40) * 1000)
                slots.append(
                    AiringSlot(
                        station=station,
                        product=product,
                        hotline=hotline,
                        start=start,
                        end=start + dt.timedelta(minutes=minutes),
                        cost=cost,
                    )
                )
    AiringSlot.objects.bulk_create(slots)
    return len(slots)


# --- knowledge -------------------------------------------------------------------------


def _script_bodies() -> list[tuple[str, Product | None, str, str]]:
    gifts = list(Gift.objects.filter(sku__in=[g[0] for g in GIFTS]).order_by("sku"))
    products = list(Product.objects.filter(sku__in=[p[0] for p in PRODUCTS]).order_by("sku"))
    out = []
    for i, product in enumerate(products):
        gift = gifts[i % len(gifts)].name if gifts else "精美礼品"
        for stage, (label, template) in SCRIPT_STAGES.items():
            body = (
                template.replace("[feature]", product.description or "品质有保障")
                .replace("[price]", f"{product.price:.0f}")
                .replace("[gift]", gift)
            )
            out.append((f"{product.name}·{label}", product, stage, body))
    label, template = RETURNING_GREETING
    out.append((label, None, ScriptStage.GREETING_RETURNING, template))
    return out


def _load_scripts() -> int:
    """Through ``script_save``: it checks the placeholders and audits each script."""
    existing = set(Script.objects.values_list("title", flat=True))
    todo = [s for s in _script_bodies() if s[0] not in existing]
    for title, product, stage, body in todo:
        script_save(actor=None, title=title, product=product, stage=stage, body=body)
    return len(todo)


def _load_faqs() -> int:
    """Through ``faq_save``: it keeps the search terms the FAQ search needs."""
    existing = set(FAQ.objects.values_list("question", flat=True))
    todo = [f for f in FAQS if f[1] not in existing]
    products = list(Product.objects.filter(sku__in=[p[0] for p in PRODUCTS]))
    for category, question, answer, keywords in todo:
        # Entries that name a product ("按摩椅保修多久？") are filed under it.
        product = next((p for p in products if _product_word(p.name) in question), None)
        faq_save(
            actor=None,
            question=question,
            answer=answer,
            category=category,
            keywords=keywords,
            product=product,
        )
    return len(todo)


def _product_word(name: str) -> str:
    """The noun a caller would use: 全身多功能按摩椅 -> 按摩椅."""
    for word in ("按摩椅", "空气炸锅", "料理锅", "蚕丝被", "制氧机", "血压计", "四件套", "手镯"):
        if word in name:
            return word
    return name


# --- customers -------------------------------------------------------------------------


@dataclass
class CustomerDraft:
    name: str
    salutation: str
    level: str
    points: int
    station_code: str
    notes: str
    phones: list[NormalizedPhone]
    addresses: list[tuple[tuple[str, str, str], str]]  # (prov, city, district), street


def demo_customer_drafts(count: int = DEMO_CUSTOMERS) -> Iterator[CustomerDraft]:
    """The demo customers, always the same for the same seed (so reloads add nothing)."""
    rng = random.Random(DEMO_SEED)
    picker = DivisionPicker()
    station_codes = [s[0] for s in STATIONS]
    seen: set[str] = set()
    for _i in range(count):
        name, salutation = chinese_name(rng)
        while True:  # a fresh number whose home region (归属地) the geocoder knows
            national = rng.choice(MOBILE_PREFIXES) + f"{rng.randrange(10**8):08d}"
            if national in seen:
                continue
            mobile = phone_info(national)
            if mobile.province:
                seen.add(national)
                break
        phones = [mobile]
        if rng.random() < 0.12:
            area = rng.choice(AREA_CODES)
            landline = f"0{area}-{rng.randrange(2, 9)}{rng.randrange(10**7):07d}"
            try:
                info = phone_info(landline)
            except DomainError:
                info = None
            if info is not None and info.number not in seen:
                seen.add(info.number)
                phones.append(info)
        roll = rng.random()
        level = (
            CustomerLevel.BLACKLISTED
            if roll < 0.01
            else CustomerLevel.VIP
            if roll < 0.08
            else CustomerLevel.NORMAL
        )
        addresses = [(picker.pick(rng), street_for(rng))]
        if rng.random() < 0.15:
            addresses.append((picker.pick(rng), street_for(rng)))
        notes = ""
        if level == CustomerLevel.BLACKLISTED:
            notes = rng.choice(["多次拒收，恶意下单", "骚扰客服", "冒用他人信息下单"])
        elif level == CustomerLevel.VIP:
            notes = rng.choice(["老客户，多次回购", "喜欢黄金首饰类节目", "年消费超过5000元"])
        yield CustomerDraft(
            name=name,
            salutation=salutation,
            level=level,
            points=rng.choice([0, 0, 0, rng.randrange(100, 20000)]),
            station_code=rng.choice(station_codes),
            notes=notes,
            phones=phones,
            addresses=addresses,
        )


def _load_customers(*, out=None) -> int:
    drafts = list(demo_customer_drafts())
    primary = [d.phones[0].number for d in drafts]
    taken = _taken(CustomerPhone, "number", primary)
    todo = [d for d in drafts if d.phones[0].number not in taken]
    if not todo:
        return 0
    # Secondary numbers that someone else already has are dropped, not moved.
    extra = [p.number for d in todo for p in d.phones[1:]]
    taken_extra = _taken(CustomerPhone, "number", extra)
    stations = {s.code: s.pk for s in Station.objects.filter(code__in=[s[0] for s in STATIONS])}
    with transaction.atomic():
        ids = reserve_ids(Customer, len(todo))
        taken_members = _taken(Customer, "member_no", [member_no_for(pk) for pk in ids])
        customers, phones, addresses = [], [], []
        for pk, d in zip(ids, todo, strict=True):
            customers.append(
                Customer(
                    pk=pk,
                    name=d.name,
                    salutation=d.salutation,
                    level=d.level,
                    member_no=None if member_no_for(pk) in taken_members else member_no_for(pk),
                    points_balance=d.points,
                    source_station_id=stations.get(d.station_code),
                    notes=d.notes,
                )
            )
            for j, p in enumerate(d.phones):
                if j and p.number in taken_extra:
                    continue
                phones.append(
                    CustomerPhone(
                        customer_id=pk,
                        number=p.number,
                        kind=p.kind,
                        province=p.province,
                        city=p.city,
                        is_primary=j == 0,
                    )
                )
            for j, ((prov, city, district), street) in enumerate(d.addresses):
                addresses.append(
                    Address(
                        customer_id=pk,
                        recipient=d.name,
                        phone=d.phones[0].number,
                        province_id=prov,
                        city_id=city,
                        district_id=district,
                        street=street,
                        is_default=j == 0,
                    )
                )
        Customer.objects.bulk_create(customers, batch_size=500)
        CustomerPhone.objects.bulk_create(phones, batch_size=500)
        Address.objects.bulk_create(addresses, batch_size=500)
    return len(customers)


def _load_service_records() -> int:
    """A few past contacts, so customer pages and lists are not empty."""
    if ServiceRecord.objects.exists():
        return 0
    User = get_user_model()
    agents = list(User.objects.filter(username__startswith="agent").order_by("username"))
    customers = list(
        Customer.objects.filter(member_no__isnull=False)
        .order_by("id")
        .values_list("id", flat=True)[:600]
    )
    if not agents or not customers:
        return 0
    rng = random.Random(DEMO_SEED + 3)
    notes = [
        "来电咨询{p}的价格和赠品，已介绍，客户考虑后再回电。",
        "客户订购{p}一件，核对地址无误。",
        "客户询问{p}的发货时间，已告知当天发货。",
        "回访{p}使用情况，客户满意。",
        "客户反映{p}包装有破损，已登记补发。",
        "来电占线后回拨，客户已在其他渠道购买{p}。",
    ]
    product_names = [p[1] for p in PRODUCTS]
    now = timezone.now()
    records = [
        ServiceRecord(
            customer_id=cid,
            agent=rng.choice(agents),
            at=now - dt.timedelta(minutes=rng.randrange(60, 60 * 24 * 30)),
            channel=rng.choice([ContactChannel.INBOUND_CALL] * 4 + [ContactChannel.OUTBOUND_CALL]),
            content=rng.choice(notes).format(p=rng.choice(product_names)),
        )
        for cid in customers
    ]
    ServiceRecord.objects.bulk_create(records, batch_size=500)
    return len(records)


# --------------------------------------------------------------------------------------
# Generating many customers (benchmark)
# --------------------------------------------------------------------------------------


def customers_generate(
    *, count: int, batch_size: int = 50_000, out: Callable[[str], None] | None = None
) -> dict[str, float]:
    """Add ``count`` customers, each with one unique mobile number; bounded memory.

    On PostgreSQL rows go in with COPY, a batch per transaction; elsewhere with
    bulk_create. A number that happens to exist already is skipped (the customer is
    written without it) so a re-run never fails on the unique index.
    """
    t0 = time.perf_counter()
    space = MobileSpace()
    regions = RegionCache()
    rng = random.Random()
    stations = list(Station.objects.values_list("pk", flat=True)) or [None]
    made = phones_made = skipped = 0
    while made < count:
        n = min(batch_size, count - made)
        with transaction.atomic():
            ids = reserve_ids(Customer, n)
            numbers = [space.national(pk) for pk in ids]
            e164 = ["+86" + x for x in numbers]
            taken = _taken(CustomerPhone, "number", e164)
            members = [member_no_for(pk) for pk in ids]
            taken_members = _taken(Customer, "member_no", members)
            skipped += len(taken)
            rows_c, rows_p = [], []
            now = timezone.now()
            for pk, national, number, member in zip(ids, numbers, e164, members, strict=True):
                name, salutation = chinese_name(rng)
                roll = rng.random()
                level = (
                    CustomerLevel.BLACKLISTED
                    if roll < 0.002
                    else CustomerLevel.VIP
                    if roll < 0.05
                    else CustomerLevel.NORMAL
                )
                member = None if member in taken_members else member
                rows_c.append((pk, name, salutation, level, member, rng.choice(stations), now))
                if number not in taken:
                    province, city = regions.region(national)
                    rows_p.append((pk, number, province, city, now))
            _write_batch(rows_c, rows_p)
            made += n
        phones_made += len(rows_p)
        _say(
            out,
            _("%(done)s / %(total)s customers (%(seconds).1f s)")
            % {"done": f"{made:,}", "total": f"{count:,}", "seconds": time.perf_counter() - t0},
        )
    return {
        "customers": made,
        "phones": phones_made,
        "skipped_numbers": skipped,
        "seconds": time.perf_counter() - t0,
    }


def _taken(model, field: str, values: list[str]) -> set[str]:
    """Which of ``values`` already exist in ``model.field`` (a uniquely indexed column)."""
    if connection.vendor == "postgresql":
        table = model._meta.db_table
        column = model._meta.get_field(field).column
        with connection.cursor() as cur:
            cur.execute(
                f'SELECT "{column}" FROM "{table}" WHERE "{column}" = ANY(%s)',  # noqa: S608
                [values],
            )
            return {r[0] for r in cur.fetchall()}
    taken: set[str] = set()
    for i in range(0, len(values), 900):
        chunk = values[i : i + 900]
        taken.update(model.objects.filter(**{f"{field}__in": chunk}).values_list(field, flat=True))
    return taken


_CUSTOMER_COLUMNS = (
    "id",
    "name",
    "salutation",
    "level",
    "member_no",
    "source_station_id",
    "created_at",
)


def _write_batch(rows_c: list[tuple], rows_p: list[tuple]) -> None:
    if connection.vendor == "postgresql":
        _copy_batch(rows_c, rows_p)
        return
    Customer.objects.bulk_create(
        [
            Customer(
                pk=pk,
                name=name,
                salutation=sal,
                level=level,
                member_no=member_no,
                source_station_id=station,
            )
            for pk, name, sal, level, member_no, station, _now in rows_c
        ],
        batch_size=2000,
    )
    CustomerPhone.objects.bulk_create(
        [
            CustomerPhone(
                customer_id=pk,
                number=number,
                kind=PhoneKind.MOBILE,
                province=province,
                city=city,
                is_primary=True,
            )
            for pk, number, province, city, _now in rows_p
        ],
        batch_size=2000,
    )


def _copy_batch(rows_c: list[tuple], rows_p: list[tuple]) -> None:
    """COPY one batch (psycopg 3); columns not given take their defaults from the rows."""
    customer_cols = [
        *_CUSTOMER_COLUMNS,
        "updated_at",
        "pin_hash",
        "points_balance",
        "notes",
    ]
    phone_cols = [
        "customer_id",
        "number",
        "province",
        "city",
        "created_at",
        "kind",
        "is_primary",
    ]
    raw = connection.connection  # the psycopg connection Django holds
    with raw.cursor() as cur:
        with cur.copy(f"COPY crm_customer ({', '.join(customer_cols)}) FROM STDIN") as copy:
            for r in rows_c:
                copy.write_row((*r, r[-1], "", 0, ""))
        with cur.copy(f"COPY crm_customerphone ({', '.join(phone_cols)}) FROM STDIN") as copy:
            for r in rows_p:
                copy.write_row((*r, PhoneKind.MOBILE.value, True))


__all__ = [
    "DEMO_AGENTS",
    "DEMO_CUSTOMERS",
    "FAQS",
    "MobileSpace",
    "customers_generate",
    "demo_load",
    "demo_password_apply",
    "demo_password_ensure",
    "demo_password_read",
    "demo_present",
    "demo_users",
    "phone_info",
]


def _load_courier_templates() -> int:
    """Couriers, SF Express's sheet layout and status texts (logistics owns them)."""
    from logistics.defaults import courier_templates_load

    return courier_templates_load()
