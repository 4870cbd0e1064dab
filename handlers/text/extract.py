"""Extraction from a first message that already says a lot (首条消息信息抽取).

"上周买的6061铝板批次2311-08表面全是划痕，要求换货，电话13800138000" answers half the intake form.
The conversation fills what it can from such a message and asks only for the rest, showing what it
understood (CONVERSATION.md) so the customer can correct it in the summary.

The rule throughout is not to invent: a field is filled only when the text says it plainly. Each
finding is cut out of the working text before the next field is looked for, so a phone number is
never read again as a batch, a date or a quantity.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date

import phonenumbers
from phonenumbers import PhoneNumberType

from handlers.text.batch import BATCH_CODE_PATTERN, parse_batch
from handlers.text.choices import ChoiceOption, find_terms
from handlers.text.clean import NUMBER_PATTERN, clean_text
from handlers.text.dates import DateMatch, find_dates
from handlers.text.intent import DEFAULT_UNDERSTANDING, Understanding, demand_clauses, mentions_product
from handlers.text.options import (
    CATEGORY_OPTIONS,
    DEFAULT_QUALITY_CATEGORIES,
    DEMAND_OPTIONS,
    PROBLEM_TYPE_OPTIONS,
)
from handlers.text.phone import Phone, parse_phone
from handlers.text.quantity import Quantity, parse_quantity
from handlers.text.words import BATCH_LABELS, BATCH_WORDS

#: Only the start of a very long message is read: a first message is a few sentences.
EXTRACT_INPUT_LIMIT = 2000
#: Category code that a recognised problem type (划痕, 变形 …) implies.
#: Option codes never inferred from prose: "其他" in a sentence is not a choice.
_NEVER_INFERRED = frozenset({"other"})
#: Marks text already used by an earlier finding; matches none of the patterns below.
_USED = "□"


#: Chinese titles of the fields in the "what I understood" lines, in intake order.
FIELD_TITLES: dict[str, str] = {
    "category": "投诉类型",
    "phone": "电话",
    "product_name": "产品",
    "batch": "批次",
    "purchase_date": "采购日期",
    "quantity": "数量",
    "problem_type": "问题类型",
    "demands": "诉求",
    "complainant_name": "姓名",
}


@dataclass(frozen=True, slots=True)
class Extracted:
    """What a free-text message says about the complaint fields (已识别信息).

    Values use the same types as the field parsers; ``displays`` maps each filled field to its
    display string, and ``understood`` lists the lines to show back, e.g. "电话：138 0013 8000".
    ``purchase_date`` is a concrete date even for 上周 (the Monday of last week, shown as 约…（上周）).
    """

    phone: Phone | None = None
    batch: tuple[str, ...] = ()
    purchase_date: date | None = None
    quantity: Quantity | None = None
    demands: tuple[str, ...] = ()
    category: str | None = None
    problem_type: str | None = None
    product_name: str | None = None
    complainant_name: str | None = None  # 我是隔壁小区的张先生 → 张先生
    demand_words: str | None = None  # a demand outside the options, in the complainant's words (→ 其他)
    displays: Mapping[str, str] = field(default_factory=dict)
    understood: tuple[str, ...] = ()

    @property
    def is_empty(self) -> bool:
        """True when nothing was recognised, so the conversation starts from the first question."""
        return not self.displays


class _Work:
    """The message being read, with used spans blanked out so later finders skip them."""

    def __init__(self, text: str) -> None:
        self.text = text

    def use(self, start: int, end: int) -> None:
        self.text = self.text[:start] + _USED * (end - start) + self.text[end:]


_PHONE_EXTENSION_AFTER = re.compile(r"\s*(?:转|分机号?|ext\.?|#)\s*([0-9]{1,6})(?![0-9])", re.IGNORECASE)
_PHONE_DASH_EXTENSION_AFTER = re.compile(r"-([0-9]{1,6})(?![0-9])")
_PHONE_WITH_DASH_EXTENSION = re.compile(r"(?<![0-9])(?:\+?86\s?)?0[0-9]{2,3}-?[0-9]{7,8}-[0-9]{1,6}(?![0-9])")


def _find_phone(work: _Work, today: date) -> tuple[Phone, str] | None:
    """The first valid mainland number in the text, with an extension written right after it."""
    for match in phonenumbers.PhoneNumberMatcher(work.text, "CN", leniency=phonenumbers.Leniency.VALID):
        if phonenumbers.region_code_for_number(match.number) != "CN":
            continue
        end = match.end
        candidate = match.raw_string
        after = work.text[end:]
        ext = _PHONE_EXTENSION_AFTER.match(after)
        if ext is None and phonenumbers.number_type(match.number) == PhoneNumberType.FIXED_LINE:
            ext = _PHONE_DASH_EXTENSION_AFTER.match(after)
        if ext is not None:
            candidate += f"转{ext.group(1)}"
            end += ext.end()
        parsed = parse_phone(candidate, today=today)
        if parsed.accepted and parsed.value is not None:
            work.use(match.start, end)
            return parsed.value, parsed.display
    # phonenumbers does not see "0379-67333626-123" as one number; the parser does.
    for m in _PHONE_WITH_DASH_EXTENSION.finditer(work.text):
        parsed = parse_phone(m.group(0), today=today)
        if parsed.accepted and parsed.value is not None:
            work.use(m.start(), m.end())
            return parsed.value, parsed.display
    return None


_BATCH_CODE = rf"(?<![A-Za-z0-9])(?=[A-Za-z0-9/_.\-]*[0-9]){BATCH_CODE_PATTERN}"
_BATCH_AFTER_WORD = re.compile(
    rf"{BATCH_WORDS}\s*(?:是|为|:|#)?\s*(?P<codes>{_BATCH_CODE}(?:\s*[、,和]\s*{_BATCH_CODE})*)",
    re.IGNORECASE,
)
_BATCH_BEFORE_WORD = re.compile(rf"(?P<codes>{_BATCH_CODE})\s*(?:这个|那个)?(?:{BATCH_LABELS}|这批|那批)")


def _find_batch(work: _Work, today: date) -> tuple[tuple[str, ...], str] | None:
    """A batch number after 批次/批号 (批次2311-08), or right before it (2311-08批次的货)."""
    for pattern in (_BATCH_AFTER_WORD, _BATCH_BEFORE_WORD):
        for m in pattern.finditer(work.text):
            codes = m.group("codes")
            if len(codes.replace(" ", "")) < 3:
                continue
            parsed = parse_batch(codes, today=today)
            if parsed.accepted and parsed.value is not None:
                work.use(m.start("codes"), m.end("codes"))
                return parsed.value, parsed.display
    return None


# A date counts as the purchase date only next to a word about buying or receiving the goods:
# "昨天打电话没人理" mentions a date that is not the purchase date.
_PURCHASE_AFTER = re.compile(
    r"^.{0,4}?(?:买|购|采购|进货|进的|到货|到的|收到|收货|提货|提的|下单|订的|订购|发货|发的|送来|送到|拉的)"
)
_PURCHASE_BEFORE = re.compile(r"(?:采购|购买|购货|到货|收货|进货|订货)(?:日期|时间)\s*(?:是|为|:)?\s*$")


def _find_purchase_date(work: _Work, today: date) -> DateMatch | None:
    for found in find_dates(work.text, today=today):
        if found.value is None:
            continue
        after = work.text[found.end : found.end + 12]
        before = work.text[max(0, found.start - 10) : found.start]
        if _PURCHASE_AFTER.match(after) or _PURCHASE_BEFORE.search(before):
            work.use(found.start, found.end)
            return found
    return None


# Mass and count units only: lengths (2米, 2mm) in a first message are usually sizes, and
# 个/条/张/块 count scratches and photos ("一条划痕", "两张照片") more often than goods.
_EXTRACT_UNITS = (
    "公吨", "吨", "tons", "ton", "t", "千克", "kgs", "kg", "公斤", "斤", "件", "pcs", "箱", "卷",
    "托", "捆", "桶", "袋", "包", "车", "套", "台", "盘", "根", "支",
)  # fmt: skip
_QUANTITY_IN_TEXT = re.compile(
    rf"(?<![A-Za-z0-9.×*/\-])(?:约|大约|大概)?"
    rf"(?P<num>[0-9]{{1,3}}(?:,[0-9]{{3}})+(?:\.[0-9]+)?|{NUMBER_PATTERN}|半)\s*"
    rf"(?P<unit>{'|'.join(_EXTRACT_UNITS)})(?:半)?(?:左右|多)?"
    # a Latin unit must end at a non-letter ("3t6061" is no quantity); after 吨 a product code may follow
    # (十六吨6063铝型材)
    r"(?:(?<=[\u4e00-\u9fff])|(?![A-Za-z0-9×*]))(?!事|情|装|间|点|子)",
    re.IGNORECASE,
)


#: "两车一共三十二吨": the total is the quantity bought, the trucks (or batches) before it are not.
_TOTAL_BEFORE = re.compile(r"(?:一共|总共|共计|合计|总计|共)\s*$")


def _find_quantity(work: _Work, today: date) -> tuple[Quantity, str] | None:
    matches = list(_QUANTITY_IN_TEXT.finditer(work.text))
    totals = [m for m in matches if _TOTAL_BEFORE.search(work.text[max(0, m.start() - 3) : m.start()])]
    for m in (*totals, *matches):
        if m.group("num") in ("一", "半"):
            continue  # 一件事, 一包装: "one" in prose is rarely the quantity bought
        parsed = parse_quantity(m.group(0), today=today)
        if parsed.accepted and parsed.value is not None:
            work.use(m.start(), m.end())
            return parsed.value, parsed.display
    return None


_MATERIALS = r"铝合金|不锈钢|镀锌|彩涂|紫铜|黄铜|铝|铜|钢|铁|锌|镁|钛|镍"
_FORMS = r"板材|带材|管材|棒材|卷材|型材|线材|板|带|箔|管|棒|线|卷|锭|丝|排|材"
_PRODUCT = re.compile(
    rf"(?<![A-Za-z0-9])(?:[A-Za-z]{{0,2}}[0-9]{{3,4}}(?:-?[A-Za-z][0-9]{{1,3}})?\s?)?"
    rf"(?:{_MATERIALS})[\u4e00-\u9fff]{{0,2}}?(?:{_FORMS})"
)
_BOUGHT = re.compile(r"(?:买的|买了|采购的|购买的|订的|进的)")
_STOP = re.compile(
    rf"[\s,.;:!?，。；：！？、()（）□]|{BATCH_LABELS}|数量|电话|手机|表面|质量|要求|问题|出现|[有没不太很都也就被是的了]"
)
_GENERIC_PRODUCTS = frozenset({"货", "东西", "产品", "这批货", "那批货", "这批", "那批", "一批货"})


def _find_product(work: _Work, terms: Sequence[ChoiceOption]) -> str | None:
    """A product name: a metal product (6061铝板, 不锈钢管), else the words after 买的."""
    m = _PRODUCT.search(work.text)
    if m is not None:
        return m.group(0).strip()
    bought = _BOUGHT.search(work.text)
    if bought is None:
        return None
    rest = work.text[bought.end() : bought.end() + 40]
    stops = [stop.start() for stop in _STOP.finditer(rest)]
    lowered = rest.lower()
    for _, label, synonyms in terms:
        for word in (label, *synonyms):
            position = lowered.find(word.lower()) if len(word) > 1 else -1
            if position >= 0:
                stops.append(position)
    end = min(stops, default=len(rest))
    candidate = rest[:end]
    if not 2 <= len(candidate) <= 15 or candidate in _GENERIC_PRODUCTS or candidate[0] in ("货", "东"):
        return None  # "订的货说好十五号到": the goods, not a product name
    if re.fullmatch(rf"{NUMBER_PATTERN}.*", candidate) and not re.search(r"[A-Za-z]", candidate):
        return None  # "买了3吨…" starts with a quantity, not a name
    return candidate


_NAME_IN_TEXT = re.compile(
    r"我(?:是|叫|姓)(?:[\u4e00-\u9fff]{1,8}的)?(?P<person>[\u4e00-\u9fff](?:先生|女士|小姐|师傅|经理|老板|工|总))"
    r"|我是(?P<org>[\u4e00-\u9fff]{2,14}?(?:有限公司|公司|厂|集团|建材|商行|经销部|门市部|店))的?"
)


def _find_name(text: str) -> str | None:
    """The complainant's name when the message introduces them: 我是隔壁小区的张先生, 我是郑州宏达建材的."""
    m = _NAME_IN_TEXT.search(text)
    if m is None:
        return None
    return m.group("person") or m.group("org")


def _inferred(text: str, options: Sequence[ChoiceOption]) -> list[str]:
    return [code for code in find_terms(text, options) if code not in _NEVER_INFERRED]


def extract(
    text: str,
    *,
    today: date,
    category_options: Sequence[ChoiceOption] = CATEGORY_OPTIONS,
    problem_type_options: Sequence[ChoiceOption] = PROBLEM_TYPE_OPTIONS,
    demand_options: Sequence[ChoiceOption] = DEMAND_OPTIONS,
    quality_categories: Collection[str] = DEFAULT_QUALITY_CATEGORIES,
    understanding: Understanding = DEFAULT_UNDERSTANDING,
) -> Extracted:
    """Read whatever complaint fields a free-text message states (抽取), never raising.

    Phone, batch, purchase date and quantity are cut out of the text in that order; categories,
    problem type and demands are matched by the same synonym tables as the choice steps, so
    configuration that teaches the choice step a word teaches extraction too. A single problem type
    is taken; several (划痕 and 变形) leave it to the question. A problem type implies the quality
    category (the policy's ``quality_categories``, when it has exactly one) unless the text names another.
    """
    cleaned = clean_text(text)[:EXTRACT_INPUT_LIMIT]
    work = _Work(cleaned)
    displays: dict[str, str] = {}

    phone = _find_phone(work, today)
    batch = _find_batch(work, today)
    purchase = _find_purchase_date(work, today)
    quantity = _find_quantity(work, today)

    problem_codes = _inferred(cleaned, problem_type_options)
    problem_type = problem_codes[0] if len(problem_codes) == 1 else None
    category_codes = _inferred(cleaned, category_options)
    category: str | None = None
    known_categories = {code for code, _, _ in category_options}
    quality = [code for code in quality_categories if code in known_categories]
    about_goods = mentions_product(cleaned, understanding)
    others = [code for code in category_codes if code not in quality]
    damage_only = bool(problem_codes) and set(problem_codes) <= {"transport_damage"}  # 压坏, 撞坏: of what?
    if len(set(others)) == 1 and (not problem_codes or not about_goods):
        category = others[0]  # 路都被压坏了 in 我们村: the surroundings, not a product
    elif problem_codes and len(quality) == 1 and not others and (about_goods or not damage_only):
        category = quality[0]
    elif len(category_codes) == 1 and (category_codes[0] not in quality or about_goods or not damage_only):
        category = category_codes[0]
    if category is not None and category not in quality:
        problem_type = None
    clauses = [c for c in demand_clauses(cleaned, understanding) if "投诉" not in c]
    # with a demand cue only the demand is read ("客户都退回来了 要求全部换货"); without one, the whole text
    demands = tuple(dict.fromkeys(
        code for clause in (clauses or [cleaned]) for code in _inferred(clause, demand_options)
    ))
    demand_words = None
    if not demands and clauses and any(code == "other" for code, _, _ in demand_options):
        demand_words = clauses[0][:60]  # "希望改善伙食": 其他, in the complainant's words
        demands = ("other",)
    name = _find_name(cleaned)
    product = _find_product(work, (*category_options, *problem_type_options, *demand_options))

    labels = {
        "category": {code: label for code, label, _ in category_options},
        "problem_type": {code: label for code, label, _ in problem_type_options},
        "demands": {code: label for code, label, _ in demand_options},
    }
    if category is not None:
        displays["category"] = labels["category"][category]
    if phone is not None:
        displays["phone"] = phone[1]
    if product is not None:
        displays["product_name"] = product
    if batch is not None:
        displays["batch"] = batch[1]
    if purchase is not None:
        displays["purchase_date"] = purchase.display
    if quantity is not None:
        displays["quantity"] = quantity[1]
    if problem_type is not None:
        displays["problem_type"] = labels["problem_type"][problem_type]
    if demands:
        shown = "、".join(labels["demands"][code] for code in demands)
        displays["demands"] = f"{shown}（{demand_words}）" if demand_words else shown
    if name is not None:
        displays["complainant_name"] = name

    return Extracted(
        phone=phone[0] if phone else None,
        batch=batch[0] if batch else (),
        purchase_date=purchase.value if purchase else None,
        quantity=quantity[0] if quantity else None,
        demands=demands,
        category=category,
        problem_type=problem_type,
        product_name=product,
        complainant_name=name,
        demand_words=demand_words,
        displays=displays,
        understood=tuple(f"{FIELD_TITLES[name]}：{shown}" for name, shown in displays.items()),
    )


# ---------------------------------------------------------------------------------------------
# One answer to a question that asks several things (产品、规格、批号 together; date and quantity)
# ---------------------------------------------------------------------------------------------

#: A size, thickness or temper: 2mm, 1.5厚, 三个厚的, 2×1220×2440, φ20, 6061-T6, H24.
_SPEC = re.compile(
    r"(?<![A-Za-z0-9.\-])(?:"
    r"[0-9]+(?:\.[0-9]+)?(?:mm|毫米)?(?:\s*[×*xX]\s*[0-9]+(?:\.[0-9]+)?(?:mm|毫米)?)+"
    rf"|{NUMBER_PATTERN}\s*(?:mm|毫米|厘米|cm|个厚|个毫|丝|厚)(?:的)?"
    r"|[Φφ]\s*[0-9]+(?:\.[0-9]+)?"
    r"|[0-9]{4}-?[HThtO][0-9]{0,3}(?!\s?(?:铝|铜|钢|不锈|镀|彩|锌|镁|钛|镍))"  # 6061-T6铝板 is a product name
    r"|[HT][0-9]{1,3}态?(?!\s?(?:铝|铜|钢|不锈|镀|彩|锌|镁|钛|镍))"
    r")(?![A-Za-z0-9])",
)
#: A batch code typed alone among other words: with a dash (2311-08) or letters and at least 4 digits (B231108).
_BARE_BATCH = re.compile(
    r"(?<![A-Za-z0-9.\-])(?:[A-Za-z0-9]+(?:-[A-Za-z0-9]+)+|[A-Za-z]{1,3}[0-9]{4,}[A-Za-z0-9]*)(?![A-Za-z0-9\-])"
)
_LABEL_WORDS = re.compile(
    rf"规格型号|规格|型号|{BATCH_LABELS}|产品名称|产品|名称|联系电话|电话|手机|号码|数量|"
    r"采购日期|日期|是|为|[:：#]"
)


def find_in_answer(text: str, keys: Collection[str], *, today: date) -> tuple[dict[str, tuple[object, str]], str]:
    """The facts ``keys`` names found in one answer, and the words left over (for the asked step's own parser).

    Used when a question asks related facts together ("产品名称、规格和批号？" answered "6061铝板 2mm 批号2311-08";
    "什么时候到的货，多少？" answered "上周三到的 三吨"; "称呼和电话？" answered "张先生 13803791234"). Each finding
    is cut out before the next is looked for, as in :func:`extract`. Values are the field parsers' types.
    """
    work = _Work(clean_text(text)[:EXTRACT_INPUT_LIMIT])
    found: dict[str, tuple[object, str]] = {}
    if "phone" in keys:
        phone = _find_phone(work, today)
        if phone is not None:
            found["phone"] = phone
    if "batch" in keys:
        batch = _find_batch(work, today)
        if batch is None:
            for m in _BARE_BATCH.finditer(work.text):
                if _SPEC.fullmatch(m.group(0)):
                    continue
                codes = parse_batch(m.group(0), today=today)
                if codes.accepted and codes.value is not None:
                    work.use(m.start(), m.end())
                    batch = (codes.value, codes.display)
                    break
        if batch is not None:
            found["batch"] = batch
    if "purchase_date" in keys:
        for date_match in find_dates(work.text, today=today):
            if date_match.value is not None:
                work.use(date_match.start, date_match.end)
                found["purchase_date"] = (date_match.value, date_match.display)
                break
    if "quantity" in keys:
        quantity = _find_quantity(work, today)
        if quantity is None:  # asked for: any unit the quantity parser knows (500米, 120张)
            for m in re.finditer(rf"{NUMBER_PATTERN}\s*[^\s0-9，,。、]{{1,3}}", work.text):
                parsed = parse_quantity(m.group(0), today=today)
                if parsed.accepted and parsed.value is not None:
                    work.use(m.start(), m.end())
                    quantity = (parsed.value, parsed.display)
                    break
        if quantity is not None:
            found["quantity"] = quantity
    if "spec_model" in keys:
        specs = []
        for m in list(_SPEC.finditer(work.text)):
            specs.append(m.group(0).strip())
        for m in reversed(list(_SPEC.finditer(work.text))):
            work.use(m.start(), m.end())
        if specs:
            shown = " ".join(specs)
            found["spec_model"] = (shown, shown)
    rest = _LABEL_WORDS.sub(" ", work.text.replace(_USED, " "))
    rest = " ".join(re.sub(r"[,，;；、。.!！]+", " ", rest).split())
    return found, rest


def product_in(text: str) -> str | None:
    """A metal product named in ``text`` (6061铝板), for a more precise name typed with the spec."""
    m = _PRODUCT.search(clean_text(text))
    return m.group(0).strip() if m is not None else None
