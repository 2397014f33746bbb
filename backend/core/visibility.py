"""What a caller may see, decided once from their Principal: the values every feature's visibility SQL binds.

The rules themselves stay in each feature's SQL (`queries.visible` / `VISIBLE`), which takes its bind values
from a `Visibility` through one function beside it; this module says only what the caller's roles, regimes
and teams amount to:

- `regimes`: the regimes they may see (sorted); `sexwork`: whether sex-work records are among them;
- `all_teams`: admins and enforcement officers see every team's work within their regimes;
- `coordinated_teams`: the teams a coordinator sees all work of; `inspected_teams` and `inspector_id`: an
  inspector's teams and themselves (empty / None for a caller who is not that);
- `complaint_handler`: complaint handlers see complaints without a regime and the reporters' identities.
"""

from __future__ import annotations

from uuid import UUID

import msgspec

from backend.core.auth import Principal

ALL_TEAMS_ROLES = ("admin", "enforcement_officer")
COMPLAINT_HANDLERS = ("complaints_officer", "admin")


class Visibility(msgspec.Struct, frozen=True, kw_only=True):
    user_id: UUID
    regimes: list[str]
    sexwork: bool
    all_teams: bool
    coordinated_teams: list[str]
    inspected_teams: list[str]
    inspector_id: UUID | None
    complaint_handler: bool

    @classmethod
    def of(cls, principal: Principal) -> Visibility:
        teams = sorted(principal.teams)
        inspector = principal.has_role("inspector")
        return cls(
            user_id=principal.user_id,
            regimes=sorted(principal.regimes),
            sexwork=principal.sees_regime("sexwork"),
            all_teams=principal.has_role(*ALL_TEAMS_ROLES),
            coordinated_teams=teams if principal.has_role("coordinator") else [],
            inspected_teams=teams if inspector else [],
            inspector_id=principal.user_id if inspector else None,
            complaint_handler=principal.has_role(*COMPLAINT_HANDLERS),
        )

    @property
    def teams(self) -> list[str]:
        """The teams whose work the caller does or plans (as inspector or coordinator)."""
        return sorted(set(self.coordinated_teams) | set(self.inspected_teams))

    def by_regime_only(self) -> Visibility:
        """Judged as for enforcement officers: every record of the caller's regimes (sex work only with
        that scope), whatever the team."""
        return msgspec.structs.replace(
            self, all_teams=True, coordinated_teams=[], inspected_teams=[], inspector_id=None
        )
