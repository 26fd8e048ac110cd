"""A binary BCH code and a CRC-16, the error correction under the watermark payload.

The watermark carries 64 message bits (48 payload + 16 CRC) in a BCH(127, 64) codeword that
corrects up to ``t = 10`` flipped bits. The decoder is *bounded-distance*: a word more than ``t``
bits away from every codeword is reported as a failure (``None``), never guessed, and the CRC
catches the rare word that lands within ``t`` of the *wrong* codeword. Both numbers enter the
false-positive bound in :mod:`twoface.provenance.watermark`.

Everything here is plain Python over ints and lists: a codeword is 127 bits, so speed is moot.
"""

from __future__ import annotations

from functools import cache
from math import comb

M = 7  # GF(2^7)
N = (1 << M) - 1  # 127, the code length
PRIMITIVE_POLY = 0b10001001  # x^7 + x^3 + 1, primitive over GF(2)
T = 10  # errors corrected
K = 64  # message bits


@cache
def _field() -> tuple[list[int], list[int]]:
    """``exp`` and ``log`` tables of GF(2^7) built from the primitive polynomial."""
    exp = [0] * (2 * N)
    log = [0] * (N + 1)
    x = 1
    for i in range(N):
        exp[i] = x
        log[x] = i
        x <<= 1
        if x & (1 << M):
            x ^= PRIMITIVE_POLY
    for i in range(N, 2 * N):  # doubled so that exp[a + b] needs no modulo
        exp[i] = exp[i - N]
    return exp, log


def _gmul(a: int, b: int) -> int:
    if a == 0 or b == 0:
        return 0
    exp, log = _field()
    return exp[log[a] + log[b]]


def _gdiv(a: int, b: int) -> int:
    if a == 0:
        return 0
    exp, log = _field()
    return exp[(log[a] - log[b]) % N]


def _poly2_mul(a: int, b: int) -> int:
    """Product of two GF(2)[x] polynomials stored as ints (bit i = coefficient of x^i)."""
    out = 0
    while b:
        if b & 1:
            out ^= a
        a <<= 1
        b >>= 1
    return out


def _poly2_mod(a: int, m: int) -> int:
    deg_m = m.bit_length() - 1
    while a.bit_length() - 1 >= deg_m:
        a ^= m << (a.bit_length() - 1 - deg_m)
    return a


@cache
def generator() -> int:
    """The generator polynomial: the product of the distinct minimal polynomials of
    ``α^1 … α^(2t)``, as an int (degree ``N - K`` = 63)."""
    exp, _ = _field()
    seen: set[int] = set()
    g = 1
    for i in range(1, 2 * T + 1):
        if i in seen:
            continue
        coset = []
        j = i
        while j not in coset:
            coset.append(j)
            j = (j * 2) % N
        seen.update(coset)
        # Minimal polynomial = prod (x - α^j) over the cyclotomic coset; its coefficients land
        # in GF(2), so the product computed in GF(2^7) has only 0/1 coefficients.
        poly = [1]  # coefficients in GF(2^7), lowest degree first
        for j in coset:
            root = exp[j]
            nxt = [0] * (len(poly) + 1)
            for d, c in enumerate(poly):
                nxt[d + 1] ^= c
                nxt[d] ^= _gmul(c, root)
            poly = nxt
        g = _poly2_mul(g, sum(c << d for d, c in enumerate(poly)))
    if g.bit_length() - 1 != N - K:
        raise AssertionError("BCH generator has the wrong degree")
    return g


def encode(message: list[int]) -> list[int]:
    """Systematic encoding of ``K`` bits into ``N`` bits: ``[parity (63) | message (64)]``."""
    if len(message) != K:
        raise ValueError(f"BCH message must have {K} bits, got {len(message)}")
    m = sum((b & 1) << i for i, b in enumerate(message))
    shifted = m << (N - K)
    word = shifted | _poly2_mod(shifted, generator())
    return [(word >> i) & 1 for i in range(N)]


def decode(word: list[int]) -> tuple[list[int], int] | None:
    """Correct up to ``T`` bit errors; return ``(message bits, errors corrected)``, or ``None``
    when the word is farther than ``T`` from every codeword (so never a guess)."""
    if len(word) != N:
        raise ValueError(f"BCH word must have {N} bits, got {len(word)}")
    exp, log = _field()
    bits = [b & 1 for b in word]
    ones = [i for i, b in enumerate(bits) if b]
    synd = []
    for j in range(1, 2 * T + 1):
        s = 0
        for i in ones:
            s ^= exp[(i * j) % N]
        synd.append(s)
    if not any(synd):
        return bits[N - K:], 0

    # Berlekamp–Massey: the shortest LFSR (error locator Λ) that generates the syndromes.
    lam, prev = [1], [1]
    length, shift, prev_disc = 0, 1, 1
    for r in range(2 * T):
        disc = synd[r]
        for i in range(1, length + 1):
            if i < len(lam):
                disc ^= _gmul(lam[i], synd[r - i])
        if disc == 0:
            shift += 1
            continue
        coef = _gdiv(disc, prev_disc)
        new = lam + [0] * max(0, len(prev) + shift - len(lam))
        for i, c in enumerate(prev):
            new[i + shift] ^= _gmul(coef, c)
        if 2 * length <= r:
            prev, length, prev_disc, shift = lam, r + 1 - length, disc, 1
        else:
            shift += 1
        lam = new
    while len(lam) > 1 and lam[-1] == 0:
        lam.pop()
    degree = len(lam) - 1
    if degree > T:
        return None

    # Chien search: position i is in error when Λ(α^-i) = 0.
    errors = []
    for i in range(N):
        acc = 0
        for d, c in enumerate(lam):
            if c:
                acc ^= exp[(log[c] - i * d) % N]
        if acc == 0:
            errors.append(i)
    if len(errors) != degree:  # Λ does not split: more than T errors
        return None
    for i in errors:
        bits[i] ^= 1
    return bits[N - K:], degree


def crc16(bits: list[int]) -> int:
    """CRC-16/CCITT (polynomial 0x1021, initial value 0xFFFF) over a bit list, MSB first."""
    reg = 0xFFFF
    for b in bits:
        top = ((reg >> 15) & 1) ^ (b & 1)
        reg = (reg << 1) & 0xFFFF
        if top:
            reg ^= 0x1021
    return reg


def crc8(bits: list[int]) -> int:
    """CRC-8 (polynomial 0x07, initial value 0xFF) over a bit list, MSB first."""
    reg = 0xFF
    for b in bits:
        top = ((reg >> 7) & 1) ^ (b & 1)
        reg = (reg << 1) & 0xFF
        if top:
            reg ^= 0x07
    return reg


def false_decode_probability(max_errors: int = T, crc_bits: int = 16) -> float:
    """Probability that a uniformly random ``N``-bit word decodes *and* passes the CRC.

    A random word lands within ``max_errors`` of one of the ``2^K`` codewords with probability
    ``2^K · V(N, max_errors) / 2^N`` (spheres of radius ``t ≤ T`` do not overlap), and then its
    message matches its own CRC with probability ``2^-crc_bits``.
    """
    volume = sum(comb(N, i) for i in range(max_errors + 1))
    return volume * 2.0 ** (K - N) * 2.0 ** (-crc_bits)
