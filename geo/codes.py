"""China's administrative division codes (GB/T 2260) and unified social credit codes (GB 32100).

The store's CHECK constraints use the same rules (see ``sql/0001_schema.sql``);
loaders call these functions first so that a bad value is reported with its row
and column instead of failing a whole insert.
"""

from __future__ import annotations

import re

# Province-level prefixes of GB/T 2260 (11 Beijing ... 82 Macao).
GB2260_PATTERN = re.compile(r"^(1[1-5]|2[1-3]|3[1-7]|4[1-6]|5[0-4]|6[1-5]|71|81|82)[0-9]{4}$")

USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_USCC_PATTERN = re.compile(r"^[0-9A-HJ-NPQRTUWXY]{2}[0-9]{6}[0-9A-HJ-NPQRTUWXY]{10}$")


def is_gb2260(code: str) -> bool:
    """True for a well-formed six-digit GB/T 2260 division code.

    >>> is_gb2260("530102"), is_gb2260("990102"), is_gb2260("53010")
    (True, False, False)
    """
    return bool(GB2260_PATTERN.match(code or ""))


def city_of(code: str) -> str:
    """The prefecture-level (city) code a county-level code belongs to.

    >>> city_of("530102")
    '530100'
    """
    return code[:4] + "00"


def province_of(code: str) -> str:
    """The province-level code a division code belongs to.

    >>> province_of("421303")
    '420000'
    """
    return code[:2] + "0000"


def uscc_check_char(first17: str) -> str:
    """The 18th (check) character of a unified social credit code.

    >>> uscc_check_char("91350100M000100Y4")
    '3'
    """
    total = sum(USCC_ALPHABET.index(ch) * w for ch, w in zip(first17, _USCC_WEIGHTS, strict=False))
    return USCC_ALPHABET[(31 - total % 31) % 31]


def is_uscc(code: str) -> bool:
    """True for an 18-character unified social credit code whose check character is right.

    >>> is_uscc("91350100M000100Y43"), is_uscc("91350100M000100Y44"), is_uscc("123")
    (True, False, False)
    """
    if not _USCC_PATTERN.match(code or ""):
        return False
    return uscc_check_char(code[:17]) == code[17]
