"""The kinds of configuration template the province publishes and the hubs take (docs/contract.md:
`province/templates`): one list, so that the province offers no kind the hubs do not know."""

from __future__ import annotations

from typing import Literal, get_args

TemplateKind = Literal[
    "service_catalogue",
    "number_formats",
    "priority_rules",
    "opening_hours",
    "holidays",
    "rating_criteria",
]
TEMPLATE_KINDS: tuple[TemplateKind, ...] = get_args(TemplateKind)
