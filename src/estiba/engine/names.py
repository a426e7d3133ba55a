"""Container names and ids: Docker's random names, name validation, id generation.

Random names are `adjective_surname`, from lists of our own (people of science, letters and
engineering, many of them Galician or Iberian); like dockerd, a retry appends a digit.
Ids are 64 hex digits from os.urandom whose short form is never all digits, so that a
short id can't be mistaken for a number.
"""

from __future__ import annotations

import os
import random
import re
from collections.abc import Callable

from estiba.errors import InvalidArgument

__all__ = [
    "ADJECTIVES",
    "SURNAMES",
    "new_id",
    "random_name",
    "short_id",
    "validate_name",
]

# dockerd's ^/?[a-zA-Z0-9][a-zA-Z0-9_.-]+$, used with fullmatch (re's $ allows a final "\n").
_NAME_RE = re.compile(r"/?[a-zA-Z0-9][a-zA-Z0-9_.-]+")
_SHORT = 12

ADJECTIVES: tuple[str, ...] = tuple(
    """
    able agile airy amber ample ardent artful astute attentive audacious balmy bold
    bouncy brainy brave breezy bright brisk bubbly buoyant calm candid capable careful
    cheerful chipper civil clever cosmic courteous crisp curious dapper daring dashing
    deft devoted diligent discreet dreamy dynamic eager earnest easy elated eloquent
    empathic fearless festive fiery fluent fond frank friendly frosty frugal gallant
    generous gentle giddy glowing golden graceful gracious grand grateful hardy hearty
    helpful honest hopeful humble inventive jolly jovial joyful keen kind lively loyal
    lucid lucky mellow merry mindful modest nimble noble patient peaceful perky placid
    plucky poised polite precise proud prudent quick quiet radiant rapid rational ready
    resolute robust rosy rugged serene sharp shiny sincere sleek smiling snappy snug
    sparkling spirited spry steady stoic sturdy sunny swift tactful tender thrifty tidy
    tranquil trusty upbeat valiant vibrant vivid warm wise witty zealous zesty
    """.split()
)

SURNAMES: tuple[str, ...] = tuple(
    """
    agnesi alfonsin amador arenal avogadro azcarate babbage bacelar bardeen barrie
    baseiro bernoulli blackwell bolyai borges boveda brahe brea broglie cabrera cajal
    calvino candela cantor carballo cardano casares castelao castro cavendish celsius
    cervantes chandra cienfuegos clausius conway copernicus cortazar cunqueiro
    curros dalton darwin dedekind dieste dirac doppler echegaray eratosthenes euclid
    euler fajardo faraday feijoo fermat ferrin fibonacci fleming fourier franklin
    fresnel galois galvani gamow gauss gibbs goodall gutenberg hamilton hawking herschel
    hertz hilbert hipatia huygens jacobi joule kepler kirchhoff kovalevskaya lagrange
    laplace lavoisier leibniz lema lemaitre liebig linnaeus lorentz lovelace lugris
    lyell macarthur maceira maxwell meitner mendel merezhkovsky monteiro morse
    mosquera murguia napier neira nobel noether novoneyra ochoa ohm oppenheimer otero
    pardobazan pascal pasteur pauling penzias picasso pimentel planck poincare pondal
    pozo ptolemy quiroga ramanujan rayleigh riemann risco rivas roentgen rosalia
    rutherford sagan sarmiento schrodinger seoane sierpinski sobrado somerville
    sorolla steinmetz stokes suarez taboada tesla thales torres torricelli turing
    valleinclan varela vesalius vilar volta wallace watt wegener weierstrass wiles
    yukawa zamenhof zeeman
    """.split()
)


def random_name(retry: int = 0, rng: random.Random | None = None) -> str:
    """A random `adjective_surname`; from the first retry on, a digit is appended."""
    pick = rng or random
    name = f"{pick.choice(ADJECTIVES)}_{pick.choice(SURNAMES)}"
    if retry > 0:
        name += str(pick.randrange(10))
    return name


def validate_name(name: str) -> str:
    """The name without its leading "/", or InvalidArgument with dockerd's message."""
    if not _NAME_RE.fullmatch(name):
        raise InvalidArgument(
            f"Invalid container name ({name}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed"
        )
    return name.removeprefix("/")


def new_id(random_bytes: Callable[[int], bytes] = os.urandom) -> str:
    """64 random hex digits whose 12-digit short form is not all digits."""
    while True:
        candidate = random_bytes(32).hex()
        if not candidate[:_SHORT].isdigit():
            return candidate


def short_id(container_id: str) -> str:
    """The 12 hex digits docker shows for an id."""
    return container_id.removeprefix("sha256:")[:_SHORT]
