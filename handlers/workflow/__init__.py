"""The complaint workflow (投诉处理闭环): the only code that changes a complaint's state after registration.

* `transitions` — the lifecycle as one transition table and the one function applying it;
* `operations` — triage, assign, investigate, plan, approve, implement, feed back, follow up, extend,
  reopen, close… (each: session + acting staff + complaint + context; flushes, never commits);
* `permissions` — who may do what (roles, departments, recusal 回避, confidentiality);
* `deadlines` — deadline rows from the SLA presets, the sweep that reminds, notices breaches and escalates;
* `consent` — the complainant's 同意/不同意 to an extension, answered in the chat;
* `calendar_store` — the company's working-day exceptions and the calendar built from them;
* `notify` — recipients and outbox messages; `settings` — [sla]/[workflow]/[calendar]; `errors`, `vocab`.
"""
