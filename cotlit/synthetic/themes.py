"""Story material for the synthetic arithmetic task: who owns what, how it grows, shrinks, is shared or sold."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Verb:
    """A verb phrase in the forms the story and the solutions need."""

    base: str
    past: str
    ing: str


@dataclass(frozen=True)
class Noun:
    singular: str
    plural: str


@dataclass(frozen=True)
class Distractor:
    """A story sentence with a number the solution does not use; ``{name}``/``{pron}``/``{d}`` are filled in."""

    sentence: str
    name: str
    low: int
    high: int


@dataclass(frozen=True)
class Theme:
    """One family of stories: the items, where they come from and where they go."""

    name: str
    items: tuple[Noun, ...]
    containers: tuple[Noun, ...]
    """Equal groups the items come in or are packed into."""
    start: tuple[Verb, ...]
    """How the owner first got the items (``picked``, ``baked``, ``had``)."""
    gains: tuple[Verb, ...]
    losses: tuple[Verb, ...]
    sharers: tuple[Noun, ...]
    """People the items can be shared among equally."""
    sells: bool
    """Whether a story may end with selling every item at a price."""
    distractors: tuple[Distractor, ...]


def _verbs(*forms: str) -> tuple[Verb, ...]:
    """Verbs from ``"base/past/ing"`` strings."""
    return tuple(Verb(*form.split("/")) for form in forms)


def _nouns(*forms: str) -> tuple[Noun, ...]:
    """Nouns from ``"singular/plural"`` strings."""
    return tuple(Noun(*form.split("/")) for form in forms)


GENERIC_DISTRACTORS: tuple[Distractor, ...] = (
    Distractor("{name} is {d} years old.", "age of {name} in years", 7, 15),
    Distractor("{name}'s cousin had {d} {items}.", "number of {items} {name}'s cousin had", 3, 60),
    Distractor("{pron} spent {d} minutes on all of this.", "number of minutes {name} spent", 15, 90),
)

THEMES: tuple[Theme, ...] = (
    Theme(
        name="fruit",
        items=_nouns("apple/apples", "orange/oranges", "peach/peaches", "pear/pears"),
        containers=_nouns("basket/baskets", "bag/bags", "crate/crates"),
        start=_verbs("pick/picked/picking", "have/had/having"),
        gains=_verbs("pick/picked/picking", "buy/bought/buying", "get/got/getting"),
        losses=_verbs("eat/ate/eating", "give away/gave away/giving away", "drop/dropped/dropping"),
        sharers=_nouns("friend/friends", "neighbour/neighbours"),
        sells=True,
        distractors=(Distractor("The orchard had {d} trees.", "number of trees in the orchard", 20, 200),),
    ),
    Theme(
        name="school",
        items=_nouns("pencil/pencils", "marker/markers", "eraser/erasers", "notebook/notebooks"),
        containers=_nouns("pack/packs", "box/boxes"),
        start=_verbs("buy/bought/buying", "have/had/having"),
        gains=_verbs("buy/bought/buying", "receive/received/receiving", "find/found/finding"),
        losses=_verbs("lose/lost/losing", "give away/gave away/giving away", "break/broke/breaking"),
        sharers=_nouns("classmate/classmates", "student/students"),
        sells=False,
        distractors=(Distractor("{name}'s class had {d} desks.", "number of desks in {name}'s class", 12, 40),),
    ),
    Theme(
        name="baking",
        items=_nouns("cookie/cookies", "muffin/muffins", "cupcake/cupcakes", "bread roll/bread rolls"),
        containers=_nouns("tray/trays", "box/boxes", "tin/tins"),
        start=_verbs("bake/baked/baking", "make/made/making"),
        gains=_verbs("bake/baked/baking", "make/made/making", "buy/bought/buying"),
        losses=_verbs("eat/ate/eating", "burn/burned/burning", "give away/gave away/giving away"),
        sharers=_nouns("guest/guests", "friend/friends"),
        sells=True,
        distractors=(Distractor("The oven was set to {d} degrees.", "oven temperature in degrees", 300, 450),),
    ),
    Theme(
        name="library",
        items=_nouns("book/books", "magazine/magazines", "comic/comics"),
        containers=_nouns("box/boxes", "cart/carts", "pile/piles"),
        start=_verbs("have/had/having", "collect/collected/collecting"),
        gains=_verbs("receive/received/receiving", "buy/bought/buying", "collect/collected/collecting"),
        losses=_verbs(
            "lend out/lent out/lending out", "give away/gave away/giving away", "throw out/threw out/throwing out"
        ),
        sharers=_nouns("classroom/classrooms", "reading club/reading clubs"),
        sells=False,
        distractors=(Distractor("The library had {d} tables.", "number of tables in the library", 5, 30),),
    ),
    Theme(
        name="farm",
        items=_nouns("egg/eggs", "potato/potatoes", "carrot/carrots"),
        containers=_nouns("carton/cartons", "sack/sacks", "bucket/buckets"),
        start=_verbs("collect/collected/collecting", "gather/gathered/gathering"),
        gains=_verbs("collect/collected/collecting", "gather/gathered/gathering", "buy/bought/buying"),
        losses=_verbs("break/broke/breaking", "use/used/using", "give away/gave away/giving away"),
        sharers=_nouns("neighbour/neighbours", "family/families"),
        sells=True,
        distractors=(Distractor("The farm had {d} cows.", "number of cows on the farm", 4, 60),),
    ),
    Theme(
        name="collection",
        items=_nouns("sticker/stickers", "marble/marbles", "trading card/trading cards", "stamp/stamps"),
        containers=_nouns("pack/packs", "bag/bags", "album page/album pages"),
        start=_verbs("have/had/having", "collect/collected/collecting"),
        gains=_verbs("win/won/winning", "buy/bought/buying", "trade for/traded for/trading for"),
        losses=_verbs("lose/lost/losing", "trade away/traded away/trading away", "give away/gave away/giving away"),
        sharers=_nouns("friend/friends", "cousin/cousins"),
        sells=False,
        distractors=(Distractor("{name}'s album had {d} pages.", "number of pages in {name}'s album", 10, 80),),
    ),
    Theme(
        name="flowers",
        items=_nouns("rose/roses", "tulip/tulips", "sunflower/sunflowers", "daisy/daisies"),
        containers=_nouns("bunch/bunches", "vase/vases", "bucket/buckets"),
        start=_verbs("buy/bought/buying", "have/had/having"),
        gains=_verbs("grow/grew/growing", "buy/bought/buying", "receive/received/receiving"),
        losses=_verbs("sell/sold/selling", "throw out/threw out/throwing out", "give away/gave away/giving away"),
        sharers=_nouns("teacher/teachers", "neighbour/neighbours"),
        sells=False,
        distractors=(Distractor("The flower shop was open {d} hours a day.", "opening hours of the shop", 6, 12),),
    ),
    Theme(
        name="picnic",
        items=_nouns("water bottle/water bottles", "sandwich/sandwiches", "juice box/juice boxes"),
        containers=_nouns("cooler/coolers", "crate/crates", "bag/bags"),
        start=_verbs("pack/packed/packing", "buy/bought/buying"),
        gains=_verbs("buy/bought/buying", "receive/received/receiving", "get/got/getting"),
        losses=_verbs(
            "drop/dropped/dropping", "give away/gave away/giving away", "leave behind/left behind/leaving behind"
        ),
        sharers=_nouns("hiker/hikers", "team/teams"),
        sells=True,
        distractors=(Distractor("The trail was {d} kilometres long.", "length of the trail in kilometres", 3, 25),),
    ),
)

NAMES: tuple[tuple[str, str], ...] = tuple(
    (name, "she") for name in ("Mia", "Olivia", "Sara", "Lena", "Priya", "Amara", "Yuki", "Chloe", "Nina", "Rosa")
) + tuple((name, "he") for name in ("Leo", "Omar", "Jack", "Ravi", "Tom", "Diego", "Ken", "Felix", "Sam", "Noah"))
"""(name, pronoun) of the story's owner."""
