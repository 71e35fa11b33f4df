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
# A family member's account: let in by a SEND lead for one learner (rarpa/service/family.py), never by role choice.
FAMILY_ROLE = "family"
ACCOUNT_ROLES = (*ROLES, FAMILY_ROLE)
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
                   "auditor": "Auditor", "admin": "Administrator", "family": "Family member"},
    "user_statuses": {"active": "Active", "invited": "Invited", "deactivated": "Deactivated"},
    # A family member's access (rarpa/read/family.py members), and a contribution from home.
    "family_states": {"active": "Can see", "invited": "Link not used yet", "ended": "Access ended",
                      "paused": "Cannot see: consent to share with family withdrawn",
                      "deactivated": "Account deactivated"},
    "contribution_states": {"waiting": "Waiting for staff to look at it", "accepted": "Added to the record",
                            "declined": "Not added"},
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
              "admin": "admin", "family": "family member", "system": "system"},
}

# How a family member is told where the learner is with a target (web/templates/family_summary.html).
FAMILY_WORDS = {
    "ratings": {"not_yet": "not doing it yet", "emerging": "starting to try it, with a lot of help",
                "developing": "doing it with some help", "secure": "doing it on their own",
                "generalised": "doing it on their own, in new places and with new people"},
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
              "family": "family member", "system": "the record's operator, at the command line"},
}

# The learner's own pages (easy read: web/my_progress.py), said to the learner in short
# sentences. The answers are the self-assessment's buttons ("answers_said" after "you said:").
EASY_WORDS: dict[str, dict[str, str]] = {
    "answers": {"not_yet": "Not yet", "with_help": "With help", "on_my_own": "On my own"},
    "answers_said": {"not_yet": "not yet", "with_help": "with help", "on_my_own": "on my own"},
    "contexts": {"classroom": "in class", "work_placement": "at work", "community": "out and about",
                 "home": "at home", "residential": "where you stay", "online": "online", "other": "somewhere else"},
    "prompts": {"independent": "You did it on your own.", "gestural": "Someone pointed to help you.",
                "verbal": "Someone told you what to do.", "modelled": "Someone showed you how first.",
                "partial_physical": "Someone helped you a little with their hands.",
                "full_physical": "Someone helped you with their hands."},
    "new_to_learner": {"people": "There were new people.", "place": "It was a new place.",
                       "materials": "You used new things."},
    "areas": {"employment": "Work", "independent_living": "Living on my own", "community": "Friends and going out",
              "health": "Being healthy"},
}

# The annual-review pack as a parent reads it (rarpa/read/pack_readable.py): plain words,
# no staff terms ("steps", "generalised"); "About this record" gives the staff word beside each.
PLAIN_WORDS: dict[str, dict[str, str]] = {
    # Where the learner is with a target: after "was" or "is", or as a label ("Now: …").
    "ratings": {"not_yet": "not yet able to do it", "emerging": "just starting to do it",
                "developing": "able to do it some of the time", "secure": "able to do it reliably",
                "generalised": "able to do it reliably, in new places and with new people"},
    # What the learner can do now, around the target's own words ({do}).
    "can_now": {"not_yet": "cannot {do} yet", "emerging": "is starting to {do}",
                "developing": "can {do} some of the time", "secure": "can now {do} reliably",
                "generalised": "can now {do} reliably, in new places and with new people"},
    # How much help they needed: after what they did, and as what they needed.
    "help": {"full_physical": "with full hands-on help", "partial_physical": "with a little hands-on help",
             "modelled": "after staff showed how", "verbal": "with a spoken reminder",
             "gestural": "with a point or a gesture", "independent": "with no help"},
    "help_needed": {"full_physical": "full hands-on help", "partial_physical": "a little hands-on help",
                    "modelled": "staff to show how first", "verbal": "a spoken reminder",
                    "gestural": "a point or a gesture", "independent": "no help"},
}
