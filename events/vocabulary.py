"""The fixed vocabularies of the record (contract names; order matters for
ratings), and the words people read for each value: the tablet, the pack and
the cohort counts all take them from here."""

# Ordinal rating scale, lowest first: distance travelled is counted in these steps.
RATINGS = ("not_yet", "emerging", "developing", "secure", "generalised")

# How much help the learner needed, most support first.
PROMPT_LEVELS = (
    "full_physical",
    "partial_physical",
    "modelled",
    "verbal",
    "gestural",
    "independent",
)

# Preparing for Adulthood areas that group EHCP Section E outcomes.
PFA_AREAS = ("employment", "independent_living", "community", "health")

# Where a skill showed itself; generalisation is progress across these.
CONTEXTS = (
    "classroom",
    "work_placement",
    "community",
    "home",
    "residential",
    "online",
    "other",
)

TARGET_CLOSED_AS = ("achieved", "partly_achieved", "not_achieved", "withdrawn")
REVISION_KINDS = ("renegotiated", "revised")
REVIEW_DECISIONS = ("keep", "revise", "close")
SELF_ASSESSMENT_ANSWERS = ("not_yet", "with_help", "on_my_own")
DESTINATIONS = (
    "employment",
    "supported_internship",
    "further_learning",
    "independent_living",
    "other",
)
# What the college recommends for each EHCP outcome at the annual review.
RECOMMENDATIONS = ("achieved", "continue", "amend")
# A value is only ever added here, never removed or renamed: events keep these codes.
# What was new to the learner when they did it: how generalisation is shown.
NEW_TO_LEARNER = ("people", "place", "materials")
CONSENTS = ("photographs", "sharing_with_partners", "sharing_with_family")
# The summative judgement on an EHCP outcome at the end of a programme: how far
# it was met (the words of a target's closing, without "withdrawn", which is a
# decision about a target and not a judgement of the learner's progress).
OUTCOME_JUDGEMENTS = ("achieved", "partly_achieved", "not_achieved")
ROLES = ("tutor", "support", "send_lead", "auditor", "admin")
# Administration: a one-time link that sets a password (PasswordLinkIssued.kind),
# and a user's status (the read model's users.status).
PASSWORD_LINKS = ("invitation", "reset")
USER_STATUSES = ("active", "invited", "deactivated")

# --- the words people read ------------------------------------------------------------
# Each value as a label, where it stands on its own: a button, a heading, a list.
WORDS: dict[str, dict[str, str]] = {
    "ratings": {"not_yet": "not yet", "emerging": "emerging", "developing": "developing",
                "secure": "secure", "generalised": "generalised"},
    "prompts": {"full_physical": "Full physical", "partial_physical": "Partial physical", "modelled": "Modelled",
                "verbal": "Verbal", "gestural": "Gestural", "independent": "Independent"},
    "contexts": {"classroom": "Classroom", "work_placement": "Work placement", "community": "Community",
                 "home": "Home", "residential": "Residential", "online": "Online", "other": "Other"},
    # Short headings for the tablet; the pack uses the full names (PACK_WORDS).
    "areas": {"employment": "Employment", "independent_living": "Independent living",
              "community": "Friends, relationships and community", "health": "Good health"},
    "closed_as": {"achieved": "achieved", "partly_achieved": "partly achieved", "not_achieved": "not achieved",
                  "withdrawn": "withdrawn"},
    # How a target changed (a revision's kind, or its closing).
    "changes": {"renegotiated": "Renegotiated", "revised": "Revised", "closed": "Closed"},
    "decisions": {"keep": "Keep", "revise": "Revise", "close": "Close"},
    # The two kinds of review (two events; the read model's reviews.kind).
    "reviews": {"progress": "progress review", "annual": "annual review"},
    # The learner's own answers, in their words.
    "answers": {"not_yet": "I can't do this yet", "with_help": "I can do this with help",
                "on_my_own": "I can do this on my own"},
    "destinations": {"employment": "employment", "supported_internship": "supported internship",
                     "further_learning": "further learning", "independent_living": "independent living",
                     "other": "other"},
    "recommendations": {"achieved": "Achieved", "continue": "Continue", "amend": "Amend"},
    # Consents, as a heading or a choice (the Consent section and form).
    "consents": {"photographs": "Photographs", "sharing_with_partners": "Sharing with the other provider",
                 "sharing_with_family": "Sharing with family"},
    # An EHCP outcome's summative judgement at the end of the programme.
    "outcome_judgements": {"achieved": "Achieved", "partly_achieved": "Partly achieved",
                           "not_achieved": "Not achieved"},
    # The cohort page: what is counted (a measure) and which of them (a group). A
    # PfA area's words come from "areas", a closed target's from "closed_as".
    "cohort": {"learners": "Learners", "all": "All learners", "annual_review": "Annual reviews",
               "overdue": "Overdue", "due_soon": "Due in the next 30 days",
               "not_observed": "Not observed in the last two weeks", "targets": "Targets", "open": "Open",
               "closed": "Closed", "outcomes": "EHCP outcomes by Preparing for Adulthood area",
               "distance": "{area}: EHCP outcomes by distance travelled", "moved_back": "Moved back",
               "no_change": "No change yet", "up_to_one_step": "Up to one step", "more_than_one_step":
               "More than one step", "destinations": "Destinations", "recorded": "Recorded",
               "sustained": "Sustained (two terms)"},
    # What a cohort count counts, one and many ("1 target", "3 targets").
    "cohort_unit": {"learners": "learner", "targets": "target", "outcomes": "EHCP outcome",
                    "destinations": "destination"},
    "cohort_units": {"learners": "learners", "targets": "targets", "outcomes": "EHCP outcomes",
                     "destinations": "destinations"},
    "new_to_learner": {"people": "New people", "place": "New place", "materials": "New materials"},
    # Administration (web/admin.py): a user's status, and what each admin action did.
    "role_names": {"tutor": "Tutor", "support": "Learning support assistant", "send_lead": "SEND lead",
                   "auditor": "Auditor", "admin": "Administrator"},
    "user_statuses": {"active": "Active", "invited": "Invited", "deactivated": "Deactivated"},
    "admin_actions": {"ProviderRegistered": "Provider added", "UserRegistered": "User added",
                      "UserInvited": "User invited", "PasswordChanged": "Password changed",
                      "PasswordLinkIssued:reset": "Password reset: new link made",
                      "PasswordLinkIssued:invitation": "New invitation link made",
                      "PasswordSetWithLink:invitation": "Invitation accepted: password set",
                      "PasswordSetWithLink:reset": "New password set with the link",
                      "UserDeactivated": "Deactivated", "UserReactivated": "Reactivated",
                      "UserRoleChanged": "Role or provider changed",
                      "CaseloadLearnerAdded": "Added to caseload", "CaseloadLearnerRemoved": "Removed from caseload"},
    # The roles, and the command line's own ("system"), as a change's history names them.
    "roles": {"tutor": "tutor", "support": "support", "send_lead": "send lead", "auditor": "auditor",
              "admin": "admin", "system": "system"},
}

# How the annual-review pack says a value inside a sentence, where that differs
# from its label: written to and about the learner, in full.
PACK_WORDS: dict[str, dict[str, str]] = {
    "ratings": {**WORDS["ratings"], "generalised": "generalised (in new places and with new people)"},
    "contexts": {"classroom": "in class", "work_placement": "at work placement", "community": "out in the community",
                 "home": "at home", "residential": "in residential", "online": "online", "other": "elsewhere"},
    "areas": {"employment": "Employment and further learning", "independent_living": "Independent living",
              "community": "Friends, relationships and community", "health": "Good health"},
    "recommendations": {"achieved": "outcome achieved", "continue": "continue", "amend": "amend"},
    "outcome_judgements": {"achieved": "achieved", "partly_achieved": "partly achieved",
                           "not_achieved": "not achieved by the end of the programme"},
    # Who someone is, said in full to a learner or a receiving college (the
    # transfer pack and the subject-access bundle, web/bundles.py).
    "roles": {"tutor": "tutor", "support": "learning support assistant", "send_lead": "SEND lead",
              "auditor": "auditor (checks records are kept properly)", "admin": "administrator",
              "system": "the record's operator, at the command line"},
}
