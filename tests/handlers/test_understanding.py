"""Regression tests for issue 13: what real complainants write, through the real conversation (one per pattern)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from handlers.classify import SeverityRules, stated_batch_count, suggest_severity
from handlers.text import parse_as
from handlers.text.extract import extract
from handlers.text.intent import intent_of, leading_yes_or_no
from storage.db import Database
from storage.models import IntakeMode, Severity, Staff
from tests.handlers.test_intake_chat import Chat, add_org, outbox

TODAY = dt.date(2026, 11, 23)


@pytest.fixture
def chat(db: Database, company_config: dict[str, Any]) -> Chat:
    return Chat(db, company_config)


def _finish(chat: Chat, answers: dict[str, str] | None = None) -> None:
    """Answer whatever is asked plainly (or as ``answers`` says) until the complaint is filed."""
    plain = {"category": "7", "complainant_name": "张先生", "contact_person": "跳过", "phone": "13803791234",
             "address": "跳过", "product_name": "铝板", "spec_model": "跳过", "batch": "跳过",
             "purchase_date": "11月10日", "quantity": "5吨", "problem_type": "其他", "description": "就是上面说的情况",
             "usage_scenario": "跳过", "loss": "无", "demands": "道歉/说明", "evidence": "跳过", **(answers or {})}
    for _ in range(30):
        state = chat.state()
        assert state is not None
        if state.mode is IntakeMode.SUMMARY:
            chat.send("确认")
        elif state.mode is IntakeMode.FILLING:
            chat.send(plain[state.step or ""])
        else:
            return


def _asked(chat: Chat) -> list[str]:
    return list(chat.replies)


# -- damage words without their subject --------------------------------------------------------------------

def test_a_road_crushed_by_trucks_is_no_product_complaint_and_the_neighbour_is_never_asked_for_a_batch(
    chat: Chat,
) -> None:
    chat.send("你们厂的大货车天天从我们村里过 村里的路都被压坏了 下雨全是坑")
    chat.send("是")
    _finish(chat, {"demands": "把路修好"})
    [complaint] = chat.complaints()
    assert complaint.category == "surroundings"
    assert complaint.batch is None and complaint.product_name is None and complaint.quantity is None
    assert not any("批次" in reply or "产品名称" in reply for reply in chat.replies)


def test_a_hard_to_read_manual_is_no_demand_for_an_apology() -> None:
    found = extract("说明书看不懂 这个铝合金门窗型材不知道怎么装", today=TODAY)
    assert found.demands == ()
    assert found.problem_type == "installation" and found.category == "product_quality"


def test_goods_returned_by_customers_is_what_happened_not_the_demand() -> None:
    found = extract("两批一共十六吨6063铝型材 表面氧化发黑 客户都退回来了 要求全部换货", today=TODAY)
    assert found.demands == ("replace",)


# -- saying no, and what is not a complaint -------------------------------------------------------------------

@pytest.mark.parametrize(("first", "reply", "handler"), [
    ("想问一下你们的铝板质量怎么样", "不是，问价格的", "sales"),
    ("小王服务很好 谢谢你们", "不是不是，就是表扬一下小王", "praise"),
])
def test_natural_declines_start_nothing_and_answer_what_was_meant(
    chat: Chat, first: str, reply: str, handler: str
) -> None:
    chat.send(first)
    if chat.handlers[-1] == "intake_offer":
        chat.send(reply)
    assert chat.handlers[-1] == handler
    state = chat.state()
    assert state is not None and state.mode is IntakeMode.NONE and state.answers == {}
    assert chat.complaints() == []


def test_praise_is_thanked_and_passed_to_the_office_never_taken_as_a_name(chat: Chat, db: Database) -> None:
    add_org(db)
    reply = chat.send("我是来表扬的，不是投诉")
    assert chat.handlers[-1] == "praise" and "谢谢" in reply
    [notice] = [m for m in outbox(db) if "表扬" in (m.payload or {}).get("text", "")] or [None]
    assert notice is not None, "the thank-you is passed to the department"
    assert chat.complaints() == [] and chat.state().answers == {}  # type: ignore[union-attr]


@pytest.mark.parametrize("text", ["你们铝板多少钱一吨", "6061铝板现在什么价格", "有没有3毫米的铝板卖"])
def test_price_enquiries_get_a_pointer_to_sales(chat: Chat, text: str) -> None:
    reply = chat.send(text)
    assert chat.handlers[-1] == "sales" and "销售" in reply
    assert chat.state().mode is IntakeMode.NONE  # type: ignore[union-attr]


def test_a_complaint_about_prices_is_still_a_complaint() -> None:
    assert intent_of("食堂饭菜价格又涨了 一份菜十五块 太贵了") is None
    assert intent_of("质量不错 下次还找你们") == "praise"


def test_questions_go_to_the_faq_not_a_form(chat: Chat) -> None:
    chat.send("投诉一般多久能处理完")
    assert chat.handlers[-1] == "faq"


def test_a_complaint_naming_the_hotline_is_no_faq_question(chat: Chat) -> None:
    chat.send("打你们客服电话三天了都没人接")
    assert chat.handlers[-1] != "faq"


# -- saying yes ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("yes", ["当然是投诉", "是，要投诉", "嗯嗯 是的", "是的，投诉"])
def test_natural_yeses_start_the_form_with_the_first_message_kept(chat: Chat, yes: str) -> None:
    chat.send("买的铝合金梯子用了一次就断了 我老公从上面摔下来去医院了")
    assert chat.handlers[-1] == "intake_offer"
    chat.send(yes)
    state = chat.state()
    assert state is not None and state.mode is IntakeMode.FILLING
    assert "摔下来去医院" in state.answers.get("description", "")


def test_leading_yes_or_no() -> None:
    assert leading_yes_or_no("当然是投诉") is True
    assert leading_yes_or_no("不是，问价格的") is False
    assert leading_yes_or_no("不错") is None


# -- severity -------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "why"), [
    ("工人搬铝板的时候手被割了 缝了六针", "人身伤害"),
    ("食堂吃了拉肚子 好几个人都去医院了", "人身伤害"),
    ("你们厂排的污水流到河里 河里的鱼都死了", "环境污染"),
    ("再不处理我就打12345", "品牌声誉"),
    ("业主要找记者曝光", "品牌声誉"),
])
def test_severity_notices_plain_words(text: str, why: str) -> None:
    suggestion = suggest_severity(SeverityRules(), batches=[], texts=[text], loss=None)
    assert suggestion.severity is Severity.MAJOR
    assert any(why in reason for reason in suggestion.reasons)


def test_any_stated_loss_is_noticed_and_its_amount_decides_how_strongly() -> None:
    small = suggest_severity(SeverityRules(), batches=[], texts=[], loss="被客户罚款八千")
    large = suggest_severity(SeverityRules(), batches=[], texts=[], loss="损失十万")
    assert small.severity is Severity.MAJOR and "8000元" in small.reasons[0] and "核实" in small.reasons[0]
    assert large.severity is Severity.MAJOR and "金额较大" in large.reasons[0]


def test_a_general_case_is_never_flagged_major_without_a_stated_reason() -> None:
    for text in ("参观展厅的时候讲解员说的和网上宣传的不一样", "铝板有划痕", "工厂的噪音太大了"):
        suggestion = suggest_severity(SeverityRules(), batches=[], texts=[text], loss=None)
        assert suggestion.severity is Severity.GENERAL and suggestion.reasons == ()


# -- quantities -------------------------------------------------------------------------------------------------

def test_two_batches_totalling_sixteen_tonnes() -> None:
    found = extract("两批一共十六吨6063铝型材", today=TODAY)
    assert found.quantity is not None and (found.quantity.amount, found.quantity.unit) == (16, "吨")
    assert stated_batch_count("两批一共十六吨") == 2
    assert suggest_severity(SeverityRules(), batches=[], texts=["两批一共十六吨"], loss=None).severity is Severity.MAJOR


# -- free-text steps ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("answer", ["不用", "确认", "好的", "我就是普通客户不想留名字你们赶紧处理就行了"])
def test_the_name_step_refuses_what_is_no_name(answer: str) -> None:
    assert not parse_as("name", answer, today=TODAY).accepted


@pytest.mark.parametrize("answer", ["洛阳华达门窗厂", "王先生", "我是郑州宏达建材有限公司"])
def test_the_name_step_still_takes_names(answer: str) -> None:
    assert parse_as("name", answer, today=TODAY).accepted


def test_benren_at_the_contact_step_means_the_complainant() -> None:
    parsed = parse_as("contact", "本人", today=TODAY)
    assert parsed.accepted and parsed.value is None and parsed.display == "本人"


def test_a_name_in_the_first_message_fills_the_name() -> None:
    assert extract("我是隔壁小区的张先生 你们厂晚上装卸货太吵了", today=TODAY).complainant_name == "张先生"


# -- avoidable re-asks ---------------------------------------------------------------------------------------

def test_a_batch_code_inside_a_sentence() -> None:
    parsed = parse_as("batch", "标签上写的批号是 2311-02", today=TODAY)
    assert parsed.accepted and parsed.value == ("2311-02",)


def test_a_date_followed_by_words() -> None:
    parsed = parse_as("date", "10月30号发的货", today=TODAY)
    assert parsed.accepted and parsed.value == dt.date(2026, 10, 30)


def test_two_problem_types_are_accepted_with_the_first(chat: Chat) -> None:
    chat.send("货到了外包装全烂了 里面的铝板也磕坏了几张")
    chat.send("是")
    _finish(chat, {"problem_type": "包装破损 运输损坏"})
    [complaint] = chat.complaints()
    assert complaint.problem_type == "packaging"
    assert not any("只能选一项" in r or "只选一" in r for r in chat.replies)


def test_a_demand_outside_the_list_is_other_with_the_words_kept(chat: Chat) -> None:
    chat.send("我是隔壁小区的张先生 你们厂晚上装卸货太吵了 希望晚上10点以后不要再装卸货")
    if chat.handlers[-1] == "intake_offer":
        chat.send("是")
    _finish(chat)
    [complaint] = chat.complaints()
    assert complaint.category == "surroundings" and complaint.complainant_name == "张先生"
    assert complaint.demands == ["other"]
    assert "晚上10点以后不要再装卸货" in complaint.description


def test_a_neighbour_is_asked_what_they_want_in_their_own_words(chat: Chat) -> None:
    chat.send("工厂的噪音太大了 半夜两三点还在响 老人孩子都睡不着")
    chat.send("是")
    _finish(chat, {"demands": "改善伙食"} | {"demands": "晚上别开机器了"})
    assert any("您希望我们怎么处理" in reply for reply in chat.replies)
    [complaint] = chat.complaints()
    assert complaint.demands == ["other"] and "晚上别开机器了" in complaint.description


def test_a_vague_first_message_gets_one_question_for_details(chat: Chat) -> None:
    chat.send("铝版质量太差了")
    chat.send("当然是投诉")
    _finish(chat, {"description": "开卷后板面全是划痕，一共三卷"})
    [complaint] = chat.complaints()
    assert "铝版质量太差了" in complaint.description and "开卷后板面全是划痕" in complaint.description


def test_a_phone_number_after_idle_is_not_dropped(chat: Chat) -> None:
    chat.send("我要投诉")
    chat.send("2")  # 服务态度
    chat.send("张先生")
    chat.send("跳过")
    chat.advance(minutes=45)
    chat.send("13803791234")
    state = chat.state()
    assert state is not None and state.answers.get("phone", {}).get("e164") == "+8613803791234"


def test_a_wrong_answer_at_a_choice_step_shows_the_options_once(chat: Chat) -> None:
    chat.send("我要投诉")
    reply = chat.send("随便")
    assert reply.count("产品质量") == 1


def test_the_staff_notice_masks_the_phone_inside_the_description(chat: Chat, db: Database) -> None:
    add_org(db)
    chat.send("你们业务员小李态度太差了 有事打我电话13803791234")
    if chat.handlers[-1] == "intake_offer":
        chat.send("是")
    _finish(chat)
    assert chat.complaints()
    texts = [str((m.payload or {}).get("text", "")) for m in outbox(db)]
    assert not any("13803791234" in text for text in texts)
    assert any("138****1234" in text or "1234" in text for text in texts)


# -- shorter conversations: related facts asked together, parsed from one answer ----------------------------

def test_product_spec_and_batch_typed_together_at_the_product_question_are_split(chat: Chat) -> None:
    chat.send("你们的货有质量问题 表面全是划痕")
    chat.send("是")
    chat.say("张先生 13803791234", "跳过", "跳过")
    reply = chat.send("跳过")  # the address
    assert "产品名称、规格型号和批号" in reply, "one question for the three"
    reply = chat.send("6061铝板 2mm 批号2311-08")
    assert "一共多少" in reply, "spec and batch are not asked again"
    reply = chat.send("上周三到的货 一共三吨")
    assert "数量" not in reply.splitlines()[-1]
    _finish(chat)
    [complaint] = chat.complaints()
    assert complaint.product_name == "6061铝板" and complaint.spec_model == "2mm" and complaint.batch == "2311-08"
    assert complaint.purchase_date == dt.date(2026, 11, 18) and str(complaint.quantity.normalize()) == "3"
    assert complaint.complainant_name == "张先生" and complaint.phone == "+8613803791234"


def test_a_product_named_in_the_first_message_is_made_precise_by_the_spec_answer(chat: Chat) -> None:
    chat.send("铝板有划痕")
    chat.send("是")
    chat.say("张先生", "跳过", "13803791234")
    reply = chat.send("跳过")
    assert "规格型号和批号" in reply and "产品名称" not in reply
    chat.send("6061铝板 三个厚的 批号是2311-20")
    _finish(chat)
    [complaint] = chat.complaints()
    assert complaint.product_name == "6061铝板" and complaint.spec_model == "三个厚的"
    assert complaint.batch == "2311-20"


def test_a_required_fact_left_out_of_a_together_answer_is_asked_on_its_own(chat: Chat) -> None:
    chat.send("铝板有划痕")
    chat.send("是")
    reply = chat.send("张先生")
    assert "联系人" in reply
    reply = chat.send("跳过")
    assert "联系电话" in reply, "the phone, not given with the name, is asked next"
    chat.say("13803791234", "跳过", "跳过")
    reply = chat.send("11月10日")
    assert "数量" in reply and "什么时候" not in reply


def test_changing_one_fact_of_a_summary_line_keeps_the_others(chat: Chat) -> None:
    chat.send("铝板有划痕")
    chat.send("是")
    given = {"complainant_name": "张先生 13803791234"}
    for _ in range(20):
        state = chat.state()
        assert state is not None
        if state.mode is IntakeMode.SUMMARY:
            break
        plain = {"contact_person": "跳过", "address": "跳过", "spec_model": "跳过", "purchase_date": "11月10日 5吨",
                 "usage_scenario": "跳过", "loss": "无", "demands": "道歉/说明", "evidence": "跳过",
                 "description": "就是上面说的情况", **given}
        chat.send(plain[state.step or ""])
    summary = chat.replies[-1]
    assert "2. 投诉人：张先生 138 0379 1234" in summary and len(summary.splitlines()) <= 14
    chat.send("改2")
    summary = chat.send("13912345678")
    assert "2. 投诉人：张先生 139 1234 5678" in summary


# -- bugs the held-out cases (tests/corpus/holdout.toml) showed ---------------------------------------------

def test_the_total_with_a_weight_is_the_quantity_not_the_trucks() -> None:
    found = extract("前天刚到的货 发了两车一共三十二吨铝锭 其中一车表面全是划痕", today=TODAY)
    assert found.displays["quantity"] == "32吨"


def test_what_was_ordered_is_no_demand_and_either_or_demands_are_both_read() -> None:
    found = extract("铝板厚度超差 我们要的一点五 量下来才一点三几 一共十二吨 要么退货要么降价", today=TODAY)
    assert found.demands == ("return", "price_reduction") and found.demand_words is None


def test_a_short_demand_in_words_with_a_one_letter_option_word(chat: Chat) -> None:
    chat.send("宿舍的洗衣机坏了半个月了 报修了好几次都没人来")
    chat.send("是")
    _finish(chat, {"demands": "快点来修"})
    [complaint] = chat.complaints()
    assert complaint.demands == ["repair"]


def test_just_me_at_the_contact_step_means_the_complainant(chat: Chat) -> None:
    chat.send("铝板有划痕")
    chat.send("是")
    chat.send("张先生")
    reply = chat.send("就我自己")
    assert "联系电话" in reply and "请填写" not in reply


def test_saying_it_is_no_complaint_is_answered_as_an_enquiry(chat: Chat) -> None:
    chat.send("不是投诉 就想问下铝卷能不能按我们的尺寸定做")
    assert chat.handlers[-1] == "sales"
    state = chat.state()
    assert (state is None or state.mode is IntakeMode.NONE) and not chat.complaints()


def test_a_question_about_quality_is_asked_about_before_anything_starts(chat: Chat) -> None:
    chat.send("你们的铝板质量到底怎么样啊")
    assert chat.handlers[-1] == "intake_offer", "goods and 质量, but a question: 您是要投诉吗？"
    chat.send("没有没有 我就随便问问")
    state = chat.state()
    assert state is None or state.mode is IntakeMode.NONE
    assert not chat.complaints()


@pytest.mark.parametrize(("text", "head"), [
    ("你们的客服小王很耐心 表扬一下", "db.wang.qiang"),  # one 王 on the org chart: 王强, 销售部
    ("感谢质检员周敏 很专业", "db.li.na"),  # 周敏 is in 品质保障处
    ("小李服务很好 点赞", "db.zhang.wei"),  # two people called 李: nobody in particular, the office
    ("送货师傅很负责 点个赞", "db.zhang.wei"),  # no name: the office
])
def test_praise_goes_to_the_department_of_the_person_named(chat: Chat, db: Database, text: str, head: str) -> None:
    ids = add_org(db)
    with db.transaction() as s:
        s.add_all([Staff(wecom_userid="db.wang", name="王强", department_id=ids["sales"], roles=["handler"]),
                   Staff(wecom_userid="db.zhou", name="周敏", department_id=ids["quality_office"], roles=["handler"]),
                   Staff(wecom_userid="db.li1", name="李娜", department_id=ids["quality_office"], roles=["handler"]),
                   Staff(wecom_userid="db.li2", name="李明", department_id=ids["logistics"], roles=["handler"])])
    chat.send(text)
    assert chat.handlers[-1] == "praise"
    [notice] = [m for m in outbox(db) if "表扬" in (m.payload or {}).get("text", "")]
    assert notice.recipient == head


def test_the_problem_and_where_it_was_found_answer_the_type_and_the_description_at_once(chat: Chat) -> None:
    chat.send("铝版质量太差了")
    chat.send("当然是投诉")
    for _ in range(10):
        state = chat.state()
        assert state is not None
        if state.step == "problem_type":
            break
        chat.send({"complainant_name": "张先生 13803791234", "contact_person": "跳过", "address": "跳过",
                   "product_name": "6061铝板", "purchase_date": "11月10日 5吨"}[state.step or ""])
    assert "出了什么问题、在哪里发现的" in chat.replies[-1]
    reply = chat.send("开卷的时候发现表面全是划痕")
    assert "请描述" not in reply, "the description is not asked again"
    _finish(chat)
    [complaint] = chat.complaints()
    assert complaint.problem_type == "surface"
    assert complaint.description == "铝版质量太差了。开卷的时候发现表面全是划痕"


def test_back_from_after_a_together_question_asks_that_question_again(chat: Chat) -> None:
    chat.send("你们的货有质量问题 表面全是划痕")
    chat.send("是")
    chat.say("张先生 13803791234", "跳过", "跳过", "6061铝板")
    reply = chat.send("上一步")
    assert "产品名称、规格型号和批号" in reply and "原来填写的是：6061铝板" in reply
    reply = chat.send("6061铝板 2mm 批号2311-08")
    assert "一共多少" in reply
    state = chat.state()
    assert state is not None and state.answers["batch"] == ["2311-08"] and state.answers["spec_model"] == "2mm"
