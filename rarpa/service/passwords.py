"""The password policy: one function, asked by every place a password is set
(``PeopleService.add_user`` and ``set_password``, and so the CLI, the demo
and the admin pages, which all go through the service).

A password is refused, with one plain sentence saying what to do, when it is

- shorter than ``MIN_LENGTH`` (12) characters, or longer than ``MAX_LENGTH``
  (256: far beyond anything typed, a cap so nobody can make the server hash
  a megabyte);
- one character repeated ("aaaaaaaaaaaa");
- the person's email address or name, or either with only digits or
  symbols added ("AmyJones2007!");
- one of the 30,000 passwords people use most (zxcvbn's list, from leaked
  password files), ignoring case and spaces, also with only digits or
  symbols added ("Password123456", "!!qwertyuiop1").

Nothing else: no rules about capitals, digits or symbols, which make
passwords harder to remember and no harder to guess (NCSC, NIST SP 800-63B).
The policy applies when a password is set; a password set under an older
policy goes on working. README, "Sessions and passwords", says why 12.
"""

from __future__ import annotations

import functools
import re
import string
import unicodedata

MIN_LENGTH = 12
MAX_LENGTH = 256

TOO_SHORT = f"Choose a longer password: at least {MIN_LENGTH} characters"
TOO_LONG = f"Choose a shorter password: {MAX_LENGTH} characters or fewer"
ONE_CHARACTER = "Choose a password that is not one character repeated"
PERSONAL = "Choose a password that is not your email address or name"
COMMON = ("Choose a less common password: this one is on a list of passwords people often use. "
          "Three random words together make a good one")

# What people add to a weak password to get past a rule: digits, symbols, spaces.
_PADDING = string.digits + string.punctuation + string.whitespace
_NOT_LETTER_OR_DIGIT = re.compile(r"[\W_]+")


@functools.cache
def common_passwords() -> frozenset[str]:
    """The 30,000 most used passwords, lower case (zxcvbn's ``passwords``
    frequency list). Loaded on first use: about 0.1 s and 10 MB."""
    from zxcvbn.frequency_lists import FREQUENCY_LISTS

    return frozenset(FREQUENCY_LISTS["passwords"])


def password_problem(password: str, *, email: str = "", name: str = "") -> str | None:
    """What is wrong with ``password`` for the person with this email and
    name, as the sentence to show beside the field; None when it will do."""
    password = password or ""
    if len(password) < MIN_LENGTH:
        return TOO_SHORT
    if len(password) > MAX_LENGTH:
        return TOO_LONG
    if len(set(password)) == 1:
        return ONE_CHARACTER
    if _personal(password, email, name):
        return PERSONAL
    if _common(password):
        return COMMON
    return None


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKC", text).casefold()


def _compact(text: str) -> str:
    """Letters and digits only: "Amy.Jones 2007!" -> "amyjones2007"."""
    return _NOT_LETTER_OR_DIGIT.sub("", _fold(text))


def _personal(password: str, email: str, name: str) -> bool:
    folded = _fold(password)
    email = _fold(email.strip())
    if email and email in folded:
        return True
    local = email.split("@", 1)[0]
    words = {email, local, _fold(name)} | set(re.split(r"[\s._+-]+", local)) | set(_fold(name).split())
    mine = {_compact(w) for w in words} - {""}
    mine = {w for w in mine if len(w) >= 3}  # "al" or "jo" alone says nothing
    compact = _compact(password)
    # Only digits added before or after ("amyjones2007", "2007amyjones") are the same word.
    return compact in mine or compact.strip(string.digits) in mine


def _common(password: str) -> bool:
    common = common_passwords()
    folded = _fold(password)
    candidates = {folded, "".join(folded.split()), folded.strip(_PADDING), "".join(folded.strip(_PADDING).split())}
    for text in list(candidates):
        # The same weak password twice or more ("dragondragon").
        for times in (2, 3, 4):
            if len(text) % times == 0 and text == text[: len(text) // times] * times:
                candidates.add(text[: len(text) // times])
    return any(c and c in common for c in candidates)
