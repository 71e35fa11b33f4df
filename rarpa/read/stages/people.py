"""People and providers: providers, staff and their caseloads, a learner's
enrolment and providers, and what is left of a learner after erasure."""

from __future__ import annotations

from events import learner as ev
from events import staff as st
from rarpa.read.stages import Stage, applies
from rarpa.read.tables import LEARNER_TABLES
from rarpa.record import measures


class People(Stage):
    def _admin_action(self, e, seq: int, *, kind: str = "", user: bool = True, provider: str | None = None,
                      learner_id: str | None = None, detail: str | None = None, reason: str = "") -> None:
        """One line of the admin audit list (every event of events.staff.ADMIN_EVENTS)."""
        self.db["admin_actions"].insert(
            {"seq": seq, "at": e.timestamp.isoformat(), "by_id": e.recorded_by, "by_role": e.role,
             "kind": kind or type(e).__name__, "user_id": str(e.originator_id) if user else None,
             "provider": provider, "learner_id": learner_id, "detail": detail, "reason": reason or ""},
            replace=True,
        )

    def _user(self, e, **changes) -> None:
        self.db["users"].update(str(e.originator_id), changes)

    @applies(st.ProviderRegistered)
    def provider_registered(self, e: st.ProviderRegistered, seq: int) -> None:
        self.db["providers"].upsert({"slug": e.slug, "name": e.name}, pk="slug")
        self._admin_action(e, seq, user=False, provider=e.slug, detail=e.name, reason=e.reason)

    @applies(st.UserRegistered)
    def user_registered(self, e: st.UserRegistered, seq: int) -> None:
        self.db["users"].upsert(
            {"id": str(e.originator_id), "email": e.email, "display_name": e.display_name,
             "role": e.user_role, "provider": e.user_provider, "status": "active", "awaiting_password": 0},
            pk="id",
        )
        self._admin_action(e, seq, provider=e.user_provider, detail=e.user_role)

    @applies(st.UserInvited)
    def user_invited(self, e: st.UserInvited, seq: int) -> None:
        self.db["users"].upsert(
            {"id": str(e.originator_id), "email": e.email, "display_name": e.display_name,
             "role": e.user_role, "provider": e.user_provider, "status": "invited", "awaiting_password": 1},
            pk="id",
        )
        self._admin_action(e, seq, provider=e.user_provider, detail=e.user_role, reason=e.reason)

    @applies(st.PasswordChanged)
    def password_changed(self, e: st.PasswordChanged, seq: int) -> None:
        self.x("UPDATE users SET status='active' WHERE id=? AND status='invited'", [str(e.originator_id)])
        self._user(e, awaiting_password=0)
        self._admin_action(e, seq, reason=e.reason)

    @applies(st.PasswordLinkIssued)
    def password_link_issued(self, e: st.PasswordLinkIssued, seq: int) -> None:
        self._user(e, awaiting_password=1)
        self._admin_action(e, seq, kind=f"PasswordLinkIssued:{e.kind}", reason=e.reason)

    @applies(st.PasswordSetWithLink)
    def password_set_with_link(self, e: st.PasswordSetWithLink, seq: int) -> None:
        self._user(e, status="active", awaiting_password=0)
        self._admin_action(e, seq, kind=f"PasswordSetWithLink:{e.kind}")

    @applies(st.UserDeactivated)
    def user_deactivated(self, e: st.UserDeactivated, seq: int) -> None:
        self._user(e, status="deactivated")
        self._admin_action(e, seq, reason=e.reason)

    @applies(st.UserReactivated)
    def user_reactivated(self, e: st.UserReactivated, seq: int) -> None:
        # Back to what it was (as User.reactivate): invited while the user has never had a password.
        self.x("UPDATE users SET status = CASE WHEN EXISTS (SELECT 1 FROM admin_actions WHERE user_id=:id AND kind IN "
               "('UserRegistered', 'PasswordChanged', 'PasswordSetWithLink:invitation')) THEN 'active' "
               "ELSE 'invited' END WHERE id=:id", {"id": str(e.originator_id)})
        self._admin_action(e, seq, reason=e.reason)

    @applies(st.UserRoleChanged)
    def user_role_changed(self, e: st.UserRoleChanged, seq: int) -> None:
        self._user(e, role=e.user_role, provider=e.user_provider)
        self._admin_action(e, seq, provider=e.user_provider, detail=e.user_role, reason=e.reason)

    @applies(st.CaseloadLearnerAdded)
    def caseload_learner_added(self, e: st.CaseloadLearnerAdded, seq: int) -> None:
        self.db["caseload"].upsert(
            {"user_id": str(e.originator_id), "learner_id": e.learner_id}, pk=("user_id", "learner_id")
        )
        self._admin_action(e, seq, learner_id=e.learner_id, reason=e.reason)

    @applies(st.CaseloadLearnerRemoved)
    def caseload_learner_removed(self, e: st.CaseloadLearnerRemoved, seq: int) -> None:
        self.x("DELETE FROM caseload WHERE user_id=? AND learner_id=?", [str(e.originator_id), e.learner_id])
        self._admin_action(e, seq, learner_id=e.learner_id, reason=e.reason)

    @applies(ev.LearnerEnrolled)
    def learner_enrolled(self, e: ev.LearnerEnrolled, seq: int) -> None:
        lid = str(e.originator_id)
        due = measures.annual_review_due(e.timestamp.date().isoformat())
        self.db["learners"].insert(
            {"id": lid, "name": e.name, "preferred_name": e.preferred_name,
             "date_of_birth": e.date_of_birth, "lead_provider": e.lead_provider,
             "enrolled_at": e.timestamp.isoformat(), "last_observed_at": None,
             "status": "active", "annual_review_due": due},
        )
        self.db["learner_providers"].insert({"learner_id": lid, "provider": e.lead_provider, "lead": 1})
        self.derived.due("annual", lid, lid, due)

    @applies(ev.ProviderJoined)
    def provider_joined(self, e: ev.ProviderJoined, seq: int) -> None:
        lid = str(e.originator_id)
        if e.lead:
            self.x("UPDATE learner_providers SET lead=0 WHERE learner_id=?", [lid])
            self.x("UPDATE learners SET lead_provider=? WHERE id=?", [e.joined, lid])
        self.db["learner_providers"].upsert(
            {"learner_id": lid, "provider": e.joined, "lead": int(e.lead)}, pk=("learner_id", "provider")
        )

    @applies(ev.ProviderLeft)
    def provider_left(self, e: ev.ProviderLeft, seq: int) -> None:
        self.x("DELETE FROM learner_providers WHERE learner_id=? AND provider=?", [str(e.originator_id), e.left])

    @applies(ev.LearnerDataErased)
    def learner_data_erased(self, e: ev.LearnerDataErased, seq: int) -> None:
        self.derived.write_observations()
        lid = str(e.originator_id)
        for table in LEARNER_TABLES:
            self.x(f"DELETE FROM {table} WHERE learner_id=?", [lid])
        # The same rows whether built live or replayed after the key is gone
        # (a replay cannot read anything before this event any more).
        self.x("DELETE FROM learners WHERE id=?", [lid])
        shape = e.summary or {}
        providers = shape.get("providers", {})
        lead = next((p for p, is_lead in providers.items() if is_lead), None)
        self.db["learners"].insert({"id": lid, "name": "(erased)", "preferred_name": "(erased)", "status": "erased",
                                    "lead_provider": lead})
        self._anonymous_rows(lid, shape)
        self.derived.erased = True

    def _anonymous_rows(self, lid: str, shape: dict) -> None:
        """What an erased learner still counts for: rows with no words, no
        dates and made-up ids, so the cohort's counts do not change."""
        for provider, lead in shape.get("providers", {}).items():
            self.db["learner_providers"].insert({"learner_id": lid, "provider": provider, "lead": int(lead)})
        outcome_ids = [f"{lid}:outcome:{i}" for i in range(len(shape.get("outcomes", [])))]
        for oid, outcome in zip(outcome_ids, shape.get("outcomes", [])):
            self.db["outcomes"].insert({"id": oid, "learner_id": lid, "pfa_area": outcome["pfa_area"],
                                        "targets": 0, "distance": 0.0})
        for i, target in enumerate(shape.get("targets", [])):
            tid = f"{lid}:target:{i}"
            self.db["targets"].insert({"id": tid, "learner_id": lid, "status": target["status"],
                                       "closed_as": target["closed_as"], "distance": target["distance"],
                                       "observations": 0, "revisions": 0})
            self.derived.link(tid, lid, [outcome_ids[k] for k in target["outcomes"] if k < len(outcome_ids)])
        for i, destination in enumerate(shape.get("destinations", [])):
            self.db["destinations"].insert({"id": f"{lid}:destination:{i}", "learner_id": lid,
                                            "kind": destination["kind"],
                                            "sustained_on": "(erased)" if destination["sustained"] else None})
