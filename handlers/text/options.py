"""The built-in option lists of the choice steps (DOMAIN.md): stable codes, labels, and the words that mean them.

The synonyms are data for matching (free text, extraction), not wording; ``[form.options]`` and
``[form.synonyms]`` in tousu.toml replace or extend them.
"""

from __future__ import annotations

from handlers.text.choices import ChoiceOption

#: 诉求类型 (complaint category), DOMAIN.md; codes are stable, labels and synonyms are wording.
CATEGORY_OPTIONS: tuple[ChoiceOption, ...] = (
    ChoiceOption("product_quality", "产品质量", (
        "质量", "质量异议", "质量问题", "不合格", "次品", "瑕疵", "缺陷", "划痕", "划伤", "开裂",
        "裂纹", "变形", "尺寸", "成分", "生锈", "锈蚀", "锈迹", "锈斑", "有锈", "破损", "性能",
    )),
    ChoiceOption("service_attitude", "服务态度", (
        "态度", "服务", "骂人", "骂我", "辱骂", "不理", "没人理", "不回复", "推诿", "敷衍", "不耐烦",
        "踢皮球", "客服",
    )),
    ChoiceOption("delivery", "交付物流", (
        "交付", "物流", "送货", "发货", "配送", "迟到", "延误", "延迟", "晚到", "没到货", "未到货",
        "不到货", "少发", "漏发", "错发", "发错", "快递", "交货",
    )),
    ChoiceOption("management", "管理问题", ("管理", "制度", "流程", "发票", "合同", "结算", "收费")),
    ChoiceOption("logistics_support", "后勤保障", (
        "后勤", "食堂", "宿舍", "保洁", "门卫", "保安", "班车", "停车",
    )),
    ChoiceOption("surroundings", "周边环境", (
        "周边", "环境", "相关方", "噪音", "噪声", "扰民", "粉尘", "灰尘", "异味", "臭味", "废水",
        "污水", "废气", "排放", "村里", "村民", "村口", "我们村", "小区", "居民", "邻居", "隔壁", "附近的",
        "睡不着", "烟囱", "黑烟", "冷却塔",
    )),
    ChoiceOption("other", "其他", ("其它", "别的")),
)  # fmt: skip

#: The categories that are quality objections (质量异议) unless ``[workflow] quality_categories`` names others:
#: the form asks them the quality questions, extraction assumes one when the text names no category, and the
#: quality SLA preset is their default.
DEFAULT_QUALITY_CATEGORIES: tuple[str, ...] = ("product_quality",)

#: 问题类型 (problem type of a quality complaint), DOMAIN.md; labels as in CONVERSATION.md.
PROBLEM_TYPE_OPTIONS: tuple[ChoiceOption, ...] = (
    ChoiceOption("performance", "性能不达标", (
        "性能", "不达标", "强度", "硬度", "力学", "抗拉", "屈服", "延伸率", "韧性", "太软", "太硬",
        "开裂", "断裂", "裂纹", "易断",
    )),
    ChoiceOption("dimension", "尺寸偏差", (
        "尺寸精度偏差", "尺寸", "厚度", "宽度", "长度", "公差", "超差", "偏厚", "偏薄", "太厚",
        "太薄", "不平", "平整度", "变形", "翘曲", "弯曲", "对角线",
    )),
    ChoiceOption("surface", "表面缺陷", (
        "表面质量缺陷", "表面", "划痕", "划伤", "擦伤", "压痕", "压伤", "氧化", "色差", "起皮",
        "脏污", "油污", "污渍", "斑点", "黑点", "白点", "麻点", "气泡", "生锈", "锈蚀", "锈迹",
        "锈斑", "有锈", "腐蚀", "毛刺", "凹坑", "凹陷", "印痕", "水印", "锈",
    )),
    ChoiceOption("chemistry", "化学成分", (
        "化学成分不符", "成分", "材质", "牌号", "含量", "杂质", "元素", "光谱",
    )),
    ChoiceOption("packaging", "包装破损", ("包装", "外包装", "纸箱", "木箱", "缠绕膜")),
    ChoiceOption("transport_damage", "运输损坏", (
        "运输", "磕碰", "碰伤", "撞坏", "挤压", "压坏", "摔坏", "掉落", "淋雨", "受潮", "进水",
    )),
    ChoiceOption("installation", "安装使用", (
        "安装使用问题", "安装", "装不上", "不会用", "用不了", "使用方法", "说明书", "调试", "操作",
    )),
    ChoiceOption("other", "其他", ("其它", "别的", "都不是")),
)  # fmt: skip

#: 诉求 (what the complainant asks for), DOMAIN.md; several may be chosen.
DEMAND_OPTIONS: tuple[ChoiceOption, ...] = (
    ChoiceOption("repair", "维修", ("修理", "返修", "修复", "修好", "修一下", "给修", "修")),
    ChoiceOption("replace", "更换", (
        "换货", "换一批", "换新", "调换", "换掉", "换成", "给换", "换一下", "重发", "补发", "换",
    )),
    ChoiceOption("return", "退货", ("退款", "退钱", "退回", "退掉", "退了", "退")),
    ChoiceOption("compensation", "赔偿", (
        "赔钱", "赔款", "索赔", "补偿", "赔付", "赔点", "赔",
    )),
    ChoiceOption("price_reduction", "减价", ("降价", "折让", "打折", "折扣", "让价", "优惠", "便宜点")),
    ChoiceOption("apology", "道歉/说明", (
        "道歉", "赔礼", "致歉", "认错", "解释", "说法", "交代", "给个说明", "书面说明", "作出说明",
    )),
    ChoiceOption("other", "其他", ("其它", "别的")),
)  # fmt: skip

