"""The intake form as data (投诉登记表): which steps, in which order, asked how, parsed how, when.

The defaults follow DOMAIN.md and seed 001 第五条 (客户信息: 名称、联系人、联系方式; 产品信息: 名称、规格型号、
生产批次、采购日期、数量; 投诉内容: 问题描述、使用场景、损失情况; 客户诉求). Product-quality steps carry the
condition ``when = {category = <the policy's quality categories>}`` (``[workflow] quality_categories``,
default ``["product_quality"]``), so the service and other paths skip them.

A company changes the form in ``tousu.toml`` without code::

    [[form.steps]]            # a key the form already has: the fields given replace the default's
    key = "usage_scenario"
    enabled = false            # drop the step

    [[form.steps]]
    key = "purchase_date"
    required = false
    prompt = "大概什么时候买的？（不记得可回复“跳过”）"   # literal question instead of the template

    [[form.steps]]            # a new key: a new step (its answer is kept on the complaint's timeline)
    key = "order_no"
    label = "订单号"
    parser = "text"
    max_length = 40
    required = false
    after = "phone"            # or before = "…"; default: before the evidence step
    prompt = "订单号或合同号？（没有可回复“跳过”）"

    [form.options]             # replace an option list (codes are what statistics count)
    demand = [{ code = "replace", label = "换货" }, { code = "refund", label = "退款", synonyms = ["退钱"] }]

    [form.synonyms.category]   # or only teach an option more words
    surroundings = ["灰大", "晚上吵"]

A step's question comes from ``templates/messages/intake/step/<key>.txt.j2`` unless the step names another
``template`` or gives a literal ``prompt``. Parsers are those of :mod:`handlers.text`, by name
(:data:`handlers.text.PARSERS`). :func:`build_form` checks everything once, at start-up
(``handlers.config.load_policy``), and raises ``PolicyError`` naming the offending setting.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from handlers.config import PolicyError
from handlers.text import (
    CATEGORY_OPTIONS,
    DEFAULT_QUALITY_CATEGORIES,
    DEMAND_OPTIONS,
    PROBLEM_TYPE_OPTIONS,
    ChoiceOption,
    is_parser_name,
    parser_names,
)

#: The built-in option lists, by the name a step's ``options`` refers to.
OPTION_SETS: Mapping[str, tuple[ChoiceOption, ...]] = {
    "category": CATEGORY_OPTIONS,
    "problem_type": PROBLEM_TYPE_OPTIONS,
    "demand": DEMAND_OPTIONS,
}

#: Marks the default steps asked only of product-quality complaints; `build_form` replaces it with
#: ``{category = [the policy's quality categories]}``.
_QUALITY = {"category": "<quality>"}

#: The default form, in order; the same shape as ``[[form.steps]]`` entries in tousu.toml.
DEFAULT_STEPS: tuple[Mapping[str, Any], ...] = (
    {"key": "category", "label": "投诉类型", "parser": "choice", "options": "category", "seeds_description": True},
    {"key": "complainant_name", "label": "单位/姓名", "parser": "name", "together": ["phone"]},
    {"key": "contact_person", "label": "联系人", "parser": "contact", "required": False},
    {"key": "phone", "label": "联系电话", "parser": "phone"},
    {"key": "address", "label": "单位地址", "parser": "address", "required": False, "max_length": 300},
    {"key": "product_name", "label": "产品名称", "parser": "text", "max_length": 200, "when": _QUALITY,
     "together": ["spec_model", "batch"]},
    {"key": "spec_model", "label": "规格型号", "parser": "text", "max_length": 200, "required": False,
     "when": _QUALITY, "together": ["batch"]},
    {"key": "batch", "label": "生产批次", "parser": "batch", "required": False, "when": _QUALITY},
    {"key": "purchase_date", "label": "采购日期", "parser": "date", "when": _QUALITY, "together": ["quantity"]},
    {"key": "quantity", "label": "数量", "parser": "quantity", "when": _QUALITY},
    {"key": "problem_type", "label": "问题类型", "parser": "choice", "options": "problem_type",
     "seeds_description": True, "when": _QUALITY},
    {"key": "description", "label": "问题描述", "parser": "text", "min_length": 5},
    {"key": "usage_scenario", "label": "使用场景", "parser": "text", "required": False, "when": _QUALITY},
    {"key": "loss", "label": "损失情况", "parser": "text", "allow_none": True},
    {"key": "demands", "label": "您的诉求", "parser": "choice", "options": "demand", "multi": True},
    {"key": "evidence", "label": "佐证材料", "parser": "evidence", "required": False},
)  # fmt: skip

#: Complaint columns a step's answer may fill (``field``); any other key is an extra field.
COMPLAINT_FIELDS = frozenset(
    {
        "category", "complainant_name", "contact_person", "phone", "address", "product_name", "spec_model",
        "batch", "purchase_date", "quantity", "problem_type", "description", "usage_scenario", "loss",
        "demands",
    }
)  # fmt: skip

_STEP_KEYS = frozenset(
    {
        "key", "label", "parser", "required", "enabled", "when", "template", "prompt", "options", "multi",
        "min_length", "max_length", "allow_none", "unit_required", "seeds_description", "after", "before",
        "together",
    }
)  # fmt: skip


@dataclass(frozen=True)
class Step:
    """One question of the form.

    ``when`` maps an earlier step's key to the answers that make this step apply (any of them; for a
    several-choice answer, any overlap). ``options`` are the choices of a ``choice`` step.

    ``together`` names later steps asked in the same question because people give them together (产品、
    规格、批号; 日期和数量; 称呼和电话, issue 13): one answer fills all it states; an optional one it does not
    state counts as not given, a required one is asked next on its own. The summary shows them on one line.
    """

    key: str
    label: str
    parser: str
    required: bool = True
    when: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    template: str | None = None
    prompt: str | None = None
    options: tuple[ChoiceOption, ...] = ()
    multi: bool = False
    min_length: int = 1
    max_length: int = 1000
    allow_none: bool = False
    unit_required: bool = True
    seeds_description: bool = False
    together: tuple[str, ...] = ()

    @property
    def template_name(self) -> str:
        return self.template or f"intake/step/{self.key}"

    @property
    def is_complaint_field(self) -> bool:
        return self.key in COMPLAINT_FIELDS

    def applies(self, answers: Mapping[str, Any]) -> bool:
        for key, wanted in self.when.items():
            given = answers.get(key)
            values = set(given) if isinstance(given, list | tuple) else {given}
            if not values & set(wanted):
                return False
        return True


@dataclass(frozen=True)
class Form:
    steps: tuple[Step, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_key", {step.key: step for step in self.steps})

    def has(self, key: str) -> bool:
        return key in self._by_key  # type: ignore[attr-defined]

    def step(self, key: str) -> Step:
        found: Step | None = self._by_key.get(key)  # type: ignore[attr-defined]
        if found is None:
            raise KeyError(f"the form has no step {key!r}")
        return found

    def applicable(self, answers: Mapping[str, Any]) -> list[Step]:
        """The steps that apply given the answers so far, in order."""
        return [step for step in self.steps if not step.when or step.applies(answers)]

    def next_step(self, answers: Mapping[str, Any]) -> Step | None:
        """The first applicable step not answered (or skipped) yet; None when the form is complete."""
        for step in self.applicable(answers):
            if step.key not in answers:
                return step
        return None

    def missing_required(self, answers: Mapping[str, Any]) -> list[Step]:
        """Required steps without an answer (an explicit 无 on a step that allows it is an answer)."""
        return [s for s in self.applicable(answers) if s.required and s.key not in answers]

    def position(self, key: str, answers: Mapping[str, Any]) -> tuple[int, int]:
        """(number of this step, number of steps) among the applicable ones, for "第3步/共12步"."""
        steps = self.applicable(answers)
        # a fact asked in the same question as an earlier step is not a question of its own (unless asked now)
        asked_with = {k for s in steps for k in s.together}
        keys = [s.key for s in steps if s.key == key or s.key not in asked_with]
        return (keys.index(key) + 1 if key in keys else len(keys), len(keys))

    def together_open(self, step: Step, answers: Mapping[str, Any]) -> list[str]:
        """The steps asked with ``step`` that apply and have no answer yet (what its question asks besides)."""
        applicable = {s.key for s in self.applicable(answers)}
        return [key for key in step.together if key in applicable and key not in answers]

    def options_for(self, name: str) -> tuple[ChoiceOption, ...]:
        """The options of the step called ``name`` (empty when there is none)."""
        return self.step(name).options if self.has(name) else ()

    def category_label(self, code: str | None) -> str:
        """The Chinese name of a category code as this form offers it (``[form.options]``), else the code.

        The one place a category's name is looked up: intake, the acknowledgement and every workflow
        notice say the same name."""
        if not code:
            return "—"
        return option_labels(self.options_for("category")).get(code, code)


# ---------------------------------------------------------------------------------------------
# Loading from configuration
# ---------------------------------------------------------------------------------------------


def _options(where: str, raw: Any) -> tuple[ChoiceOption, ...]:
    if not isinstance(raw, list) or not raw:
        raise PolicyError(f"{where}: a non-empty list of {{code, label, synonyms}} tables")
    options: list[ChoiceOption] = []
    codes: set[str] = set()
    for index, item in enumerate(raw):
        if not isinstance(item, Mapping) or not item.get("code") or not item.get("label"):
            raise PolicyError(f"{where}[{index}]: needs code and label")
        code = str(item["code"])
        if code in codes:
            raise PolicyError(f"{where}[{index}]: code {code!r} appears twice")
        codes.add(code)
        synonyms = item.get("synonyms", [])
        if not isinstance(synonyms, list):
            raise PolicyError(f"{where}[{index}].synonyms: a list of words")
        options.append(ChoiceOption(code, str(item["label"]), tuple(str(s) for s in synonyms)))
    return tuple(options)


def _option_sets(form_config: Mapping[str, Any]) -> dict[str, tuple[ChoiceOption, ...]]:
    sets = dict(OPTION_SETS)
    overrides = form_config.get("options", {})
    if not isinstance(overrides, Mapping):
        raise PolicyError("form.options: a table of option lists")
    for name, raw in overrides.items():
        sets[str(name)] = _options(f"form.options.{name}", raw)
    extra = form_config.get("synonyms", {})
    if not isinstance(extra, Mapping):
        raise PolicyError("form.synonyms: a table of {option set = {code = [words]}}")
    for name, by_code in extra.items():
        if name not in sets:
            raise PolicyError(f"form.synonyms.{name}: no option list called {name!r}")
        if not isinstance(by_code, Mapping):
            raise PolicyError(f"form.synonyms.{name}: a table of code = [words]")
        known = {option.code for option in sets[name]}
        for code, words in by_code.items():
            if code not in known:
                raise PolicyError(f"form.synonyms.{name}.{code}: no option with code {code!r}")
            if not isinstance(words, list):
                raise PolicyError(f"form.synonyms.{name}.{code}: a list of words")
        sets[name] = tuple(
            ChoiceOption(o.code, o.label, (*o.synonyms, *(str(w) for w in by_code.get(o.code, []))))
            for o in sets[name]
        )
    return sets


def _when(where: str, raw: Any) -> dict[str, tuple[str, ...]]:
    if not isinstance(raw, Mapping):
        raise PolicyError(f"{where}: a table such as {{ category = [\"product_quality\"] }}")
    result: dict[str, tuple[str, ...]] = {}
    for key, values in raw.items():
        if isinstance(values, str):
            values = [values]
        if not isinstance(values, list) or not values:
            raise PolicyError(f"{where}.{key}: a list of answer codes")
        result[str(key)] = tuple(str(v) for v in values)
    return result


def _build_step(where: str, data: Mapping[str, Any], option_sets: Mapping[str, tuple[ChoiceOption, ...]]) -> Step:
    unknown = set(data) - _STEP_KEYS
    if unknown:
        raise PolicyError(f"{where}: unknown setting(s) {', '.join(sorted(unknown))}")
    key = data.get("key")
    if not isinstance(key, str) or not key.isidentifier() or len(key) > 40:
        raise PolicyError(f"{where}.key: a short identifier such as order_no")
    parser = data.get("parser")
    if not is_parser_name(parser):
        raise PolicyError(f"{where}.parser: one of {', '.join(parser_names())} (got {parser!r})")
    label = data.get("label")
    if not isinstance(label, str) or not label:
        raise PolicyError(f"{where}.label: the field's name as the summary shows it")
    options: tuple[ChoiceOption, ...] = ()
    raw_options = data.get("options")
    if parser == "choice":
        if isinstance(raw_options, str):
            if raw_options not in option_sets:
                raise PolicyError(f"{where}.options: no option list called {raw_options!r}")
            options = option_sets[raw_options]
        else:
            options = _options(f"{where}.options", raw_options)
    elif raw_options is not None:
        raise PolicyError(f"{where}.options: only choice steps have options")
    for name in ("required", "multi", "allow_none", "unit_required", "seeds_description"):
        if name in data and not isinstance(data[name], bool):
            raise PolicyError(f"{where}.{name}: true or false")
    for name in ("min_length", "max_length"):
        if name in data and (not isinstance(data[name], int) or not 0 <= data[name] <= 1000):
            raise PolicyError(f"{where}.{name}: a whole number from 0 to 1000")
    for name in ("template", "prompt"):
        if name in data and (not isinstance(data[name], str) or not data[name].strip()):
            raise PolicyError(f"{where}.{name}: a non-empty text")
    return Step(
        key=key,
        label=label,
        parser=parser,
        required=data.get("required", True),
        when=_when(f"{where}.when", data.get("when", {})),
        template=data.get("template"),
        prompt=data.get("prompt"),
        options=options,
        multi=data.get("multi", False),
        min_length=data.get("min_length", 1),
        max_length=data.get("max_length", 1000),
        allow_none=data.get("allow_none", False),
        unit_required=data.get("unit_required", True),
        seeds_description=data.get("seeds_description", False),
        together=_together(f"{where}.together", data.get("together", ())),
    )


def _together(where: str, raw: Any) -> tuple[str, ...]:
    if not isinstance(raw, list | tuple) or not all(isinstance(key, str) for key in raw):
        raise PolicyError(f"{where}: a list of later step keys, such as [\"spec_model\", \"batch\"]")
    return tuple(raw)


def _merged_entries(overrides: Sequence[Any], quality_categories: Iterable[str]) -> list[dict[str, Any]]:
    quality = sorted(quality_categories)
    # without quality categories the product steps apply to nobody: they are left out of the form
    entries = [
        dict(entry) if entry.get("when") is not _QUALITY
        else {**entry, "when": {"category": quality}} if quality else {**entry, "when": {}, "enabled": False}
        for entry in DEFAULT_STEPS
    ]
    for index, raw in enumerate(overrides):
        where = f"form.steps[{index}]"
        if not isinstance(raw, Mapping) or not isinstance(raw.get("key"), str):
            raise PolicyError(f"{where}: a table with at least key = \"…\"")
        override = dict(raw)
        keys = [entry["key"] for entry in entries]
        if override["key"] in keys:
            position = keys.index(override["key"])
            if "after" in override or "before" in override:
                previous = entries.pop(position)
                keys.pop(position)
                position = _insertion_point(where, override, keys)
                merged = {**previous, **override}
                entries.insert(position, merged)
            else:
                entries[position] = {**entries[position], **override}
        else:
            entries.insert(_insertion_point(where, override, keys), override)
    return entries


def _insertion_point(where: str, entry: Mapping[str, Any], keys: list[str]) -> int:
    if "after" in entry:
        if entry["after"] not in keys:
            raise PolicyError(f"{where}.after: no step {entry['after']!r}")
        return keys.index(entry["after"]) + 1
    if "before" in entry:
        if entry["before"] not in keys:
            raise PolicyError(f"{where}.before: no step {entry['before']!r}")
        return keys.index(entry["before"])
    return keys.index("evidence") if "evidence" in keys else len(keys)


def build_form(
    form_config: Mapping[str, Any] | None = None, *, quality_categories: Iterable[str] = DEFAULT_QUALITY_CATEGORIES
) -> Form:
    """Build and check the form from the ``[form]`` table (defaults when absent).

    ``quality_categories`` (the policy's ``[workflow] quality_categories``) are the categories whose
    complaints are asked the product-quality steps of the default form."""
    form_config = form_config or {}
    if not isinstance(form_config, Mapping):
        raise PolicyError("form: a table")
    unknown = set(form_config) - {"steps", "options", "synonyms"}
    if unknown:
        raise PolicyError(f"form: unknown setting(s) {', '.join(sorted(unknown))}")
    overrides = form_config.get("steps", [])
    if not isinstance(overrides, list):
        raise PolicyError("form.steps: an array of tables ([[form.steps]])")
    option_sets = _option_sets(form_config)
    steps: list[Step] = []
    for index, entry in enumerate(_merged_entries(overrides, quality_categories)):
        enabled = entry.pop("enabled", True)
        entry.pop("after", None)
        entry.pop("before", None)
        if not isinstance(enabled, bool):
            raise PolicyError(f"form.steps ({entry.get('key')}).enabled: true or false")
        if not enabled:
            continue
        steps.append(_build_step(f"form.steps ({entry.get('key', index)})", entry, option_sets))
    _check(steps)
    # only later steps are asked together: one switched off or moved before (phone after category) is not
    order = [step.key for step in steps]
    return Form(tuple(
        replace(step, together=tuple(k for k in step.together if k in order[order.index(step.key) + 1:]))
        for step in steps
    ))


def _check(steps: Sequence[Step]) -> None:
    category = next((step for step in steps if step.key == "category"), None)
    if category is None or category.parser != "choice" or category.multi:
        raise PolicyError("form.steps: the form needs its single-choice category step (诉求类型)")
    if category.when:
        raise PolicyError("form.steps (category).when: the category step always applies")
    seen: dict[str, Step] = {}
    for step in steps:
        for key, values in step.when.items():
            earlier = seen.get(key)
            if earlier is None:
                raise PolicyError(f"form.steps ({step.key}).when: {key!r} is not an earlier step")
            if earlier.parser == "choice":
                codes = {option.code for option in earlier.options}
                unknown = [v for v in values if v not in codes]
                if unknown:
                    raise PolicyError(f"form.steps ({step.key}).when.{key}: unknown code(s) {unknown}")
        seen[step.key] = step
    if len(seen) != len(steps):
        raise PolicyError("form.steps: a key appears twice")


def option_labels(options: Iterable[ChoiceOption]) -> dict[str, str]:
    return {option.code: option.label for option in options}
