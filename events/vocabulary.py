"""The fixed vocabularies of the record (contract names; order matters for ratings)."""

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
CONSENTS = ("photographs", "sharing_with_partners")
ROLES = ("tutor", "support", "send_lead", "auditor", "admin")


def rating_step(rating: str) -> int:
    """Position of a rating on the scale (0 = not_yet)."""
    return RATINGS.index(rating)
