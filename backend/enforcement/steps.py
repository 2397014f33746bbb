"""The kinds of step a case takes and what may happen to each: one table, read by every command on a step.

KINDS says per kind of step which status it starts in (an officer drafts or registers it; a hercontrole is
planned when a last onder dwangsom is sent), which request fields apply and which it must state, the letter that
makes it known, the case's status once it is sent (or registered), and TRANSITIONS: per action, from which
status to which. An action the table does not list for a kind, or from a status it does not list, is refused
with the action's stable 409 code (REFUSALS) before anything changes.

To add a kind of step: a row in KINDS (and its name in models.StepType, plus StepCreate.type when officers draft
it), its checks where it is drafted (drafting.py), its letter template under schemas/letters/, and a test;
tests/test_enforcement_kinds.py checks that the table and the API's lists agree.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass, field

from backend.core.errors import Conflict

# The fields of a request (StepCreate) that a decision states, per decision.
DECISION_FIELDS: Mapping[str, tuple[str, ...]] = {
    "boete": ("amount_cents",),
    "last_onder_dwangsom": ("order_text", "begunstiging_days", "dwangsom_cents", "dwangsom_unit", "dwangsom_max_cents"),
    "last_onder_bestuursdwang": ("order_text", "begunstiging_days"),
    "schorsing": ("weeks",),
    "ontzegging_19a": ("weeks",),
    "sluiting_13b": ("months",),
    "intrekking": (),
}
# A boete is an Alcoholwet power (art. 44a): a case under another regime has no legal basis for one.
BOETE_REGIMES = frozenset({"alcohol", "nix18"})
# What a besluit must state (a voornemen may leave it open).
REQUIRED_IN_BESLUIT: Mapping[str, tuple[str, ...]] = {
    "boete": ("amount_cents",),
    "last_onder_dwangsom": DECISION_FIELDS["last_onder_dwangsom"],
    "schorsing": ("weeks",),
    "ontzegging_19a": ("weeks",),
    "sluiting_13b": ("months",),
}


@dataclass(frozen=True)
class Kind:
    starts: str  # the status a new step of this kind has
    drafted: bool  # officers draft (or register) it through the API; otherwise the system plans it
    names_decision: bool = False  # states a decision (boete, ...): DECISION_FIELDS apply
    decision_required: bool = False  # ... and must state all of REQUIRED_IN_BESLUIT
    fields: frozenset[str] = frozenset()  # other request fields that apply
    required: Mapping[str, str] = field(default_factory=dict)  # request fields it must have: why
    letter: str | None = None  # the letter kind that makes it known ({decision} filled in); None: no letter
    case_status: str | None = None  # the case's status once the step is sent (a bezwaar: registered)
    # action -> {status it leaves: status it reaches}; "a|b": either, by the outcome
    transitions: Mapping[str, Mapping[str, str]] = field(default_factory=dict)


KINDS: Mapping[str, Kind] = {
    "warning": Kind(
        starts="draft",
        drafted=True,
        fields=frozenset({"violation_ids"}),
        letter="waarschuwing",
        case_status="warned",
        transitions={"send": {"draft": "sent"}},
    ),
    "voornemen": Kind(
        starts="draft",
        drafted=True,
        names_decision=True,
        fields=frozenset({"violation_ids", "zienswijze_weeks"}),
        letter="voornemen_{decision}",
        case_status="voornemen",
        transitions={"send": {"draft": "sent"}, "record_zienswijze": {"sent": "sent"}},
    ),
    "besluit": Kind(
        starts="draft",
        drafted=True,
        names_decision=True,
        decision_required=True,
        fields=frozenset({"violation_ids"}),
        letter="besluit_{decision}",
        case_status="besluit",  # a last onder dwangsom: hercontrole (sending.py)
        transitions={
            "approve": {"draft": "approved", "approved": "approved"},  # approved again when its letter changed
            "send": {"approved": "sent"},
            "withdraw": {"sent": "sent"},  # recorded beside it: withdrawn_on
        },
    ),
    "invordering": Kind(
        starts="draft",
        drafted=True,
        fields=frozenset({"related_step_id", "amount_cents"}),
        required={"related_step_id": "name the forfeited hercontrole"},
        letter="invorderingsbeschikking",
        case_status="invordering",
        transitions={
            "approve": {"draft": "approved", "approved": "approved"},
            "send": {"approved": "sent"},
            "withdraw": {"sent": "sent"},
        },
    ),
    "bezwaar": Kind(
        starts="registered",
        drafted=True,
        fields=frozenset({"related_step_id", "received_on", "posted_on"}),
        required={
            "related_step_id": "name the decision objected to",
            "received_on": "the day the bezwaar was received",
        },
        case_status="bezwaar",
        transitions={"record_outcome": {"registered": "decided"}, "change_bezwaar": {"registered": "registered"}},
    ),
    "hercontrole": Kind(
        starts="planned",
        drafted=False,
        transitions={
            # An outcome taken from the follow-up inspection is corrected with a reason (hercontrole.py).
            "record_outcome": {
                "planned": "complied|forfeited",
                "complied": "complied|forfeited",
                "forfeited": "complied|forfeited",
            },
            # The last it would check was withdrawn or annulled on bezwaar: nothing to check (hercontrole.call_off).
            "call_off": {"planned": "called_off"},
        },
    ),
}


@dataclass(frozen=True)
class Refusal:
    wrong_kind: str  # the 409 code for a kind the action does not apply to
    wrong_kind_detail: str  # {type} and {status} are filled in
    wrong_status: str  # the 409 code for a status the action does not leave
    wrong_status_detail: str
    by_status: Mapping[str, tuple[str, str]] = field(default_factory=dict)  # a status with its own code, detail


REFUSALS: Mapping[str, Refusal] = {
    "approve": Refusal(
        "no_approval_needed",
        "A {type} needs no approval.",
        "not_a_draft",
        "The step is {status}; only a draft is approved.",
    ),
    "send": Refusal(
        "not_sendable",
        "A {type} is not sent.",
        "not_approved",
        "A decision is sent only after a second officer approved it.",
        by_status={"sent": ("already_sent", "The step was sent already; a sent step does not change.")},
    ),
    "withdraw": Refusal(
        "not_a_sent_decision",
        "Only a sent decision is withdrawn.",
        "not_a_sent_decision",
        "Only a sent decision is withdrawn.",
    ),
    "record_zienswijze": Refusal(
        "not_a_sent_voornemen",
        "A zienswijze answers a sent voornemen.",
        "not_a_sent_voornemen",
        "A zienswijze answers a sent voornemen.",
    ),
    "record_outcome": Refusal(
        "no_outcome",
        "A {type} has no outcome to record.",
        "outcome_recorded",
        "The {type} was decided already.",
    ),
    "call_off": Refusal(
        "no_hercontrole",
        "Only a hercontrole is called off.",
        "outcome_recorded",
        "The {type} was decided already.",
    ),
    "change_bezwaar": Refusal(
        "not_a_pending_bezwaar",
        "Only a bezwaar not decided yet changes.",
        "not_a_pending_bezwaar",
        "Only a bezwaar not decided yet changes.",
    ),
}
# Actions the service takes itself, never at a request: no route leads to them.
SYSTEM_ACTIONS = frozenset({"call_off"})
# What a bezwaar is lodged against: a sent decision (the kinds a second officer approves).
DECISIONS = frozenset(kind for kind, row in KINDS.items() if "approve" in row.transitions)


def kind_allows(step_type: str, action: str) -> None:
    """Refuse (409) an action the table does not list for this kind of step."""
    if action not in KINDS[step_type].transitions:
        refusal = REFUSALS[action]
        raise Conflict(refusal.wrong_kind_detail.format(type=step_type), code=refusal.wrong_kind)


def status_allows(step_type: str, status: str, action: str) -> None:
    """Refuse (409) an action the table does not list from this status of this kind of step."""
    if status not in KINDS[step_type].transitions[action]:
        refusal = REFUSALS[action]
        code, detail = refusal.by_status.get(status, (refusal.wrong_status, refusal.wrong_status_detail))
        raise Conflict(detail.format(type=step_type, status=status), code=code)


def allows(step_type: str, status: str, action: str) -> None:
    """Refuse (409) an action the table does not list for this kind of step in this status."""
    kind_allows(step_type, action)
    status_allows(step_type, status, action)


def needs_approval(step_type: str) -> bool:
    return "approve" in KINDS[step_type].transitions


def sendable(step_type: str) -> bool:
    return "send" in KINDS[step_type].transitions


@functools.cache
def ready_to_send() -> tuple[list[str], list[str]]:
    """The (kind, status) pairs a step can be sent from, as two lists: from the table, so a new kind or state is
    listed where it can be sent without another change. Read once; the lists are not to be changed."""
    pairs = sorted((kind, status) for kind, spec in KINDS.items() for status in spec.transitions.get("send", {}))
    return [kind for kind, _ in pairs], [status for _, status in pairs]


def decision_fits(regime: str, decision: str) -> bool:
    """Whether a case under `regime` has a legal basis for the decision."""
    return decision != "boete" or regime in BOETE_REGIMES


def letter_kind(step_type: str, decision: str | None) -> str | None:
    """The kind of letter a step is made known by; None for a step without a letter."""
    template = KINDS[step_type].letter
    return None if template is None else template.format(decision=decision)
