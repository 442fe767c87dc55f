"""The tag vocabulary of an import: each tag's name, code and synonyms (TagSynonym rows, seeded
with the common spellings and editable on the 标签写法 page) → its TagType, and the closest
known spelling for a word nobody has taught it yet."""

import difflib
import re
import unicodedata

from shequ.people.models import TagSynonym, TagType

TAG_COLUMN = "tag:"  # field key prefix of a column per tag ("低保" with 是/否 or √)


def normalize_tag(value) -> str:
    """How spellings are compared and stored: half-width, without spaces, ASCII lower case."""
    text = unicodedata.normalize("NFKC", str(value or ""))
    return re.sub(r"\s+", "", text).lower()


class Vocabulary:
    def __init__(self):
        self.types = list(TagType.objects.all())
        self.by_code = {t.code: t for t in self.types}
        self.words: dict[str, TagType] = {}
        for tag_type in self.types:
            self.words[normalize_tag(tag_type.name)] = tag_type
            self.words[tag_type.code.lower()] = tag_type
        for synonym in TagSynonym.objects.select_related("tag_type"):
            self.words.setdefault(normalize_tag(synonym.text), synonym.tag_type)
        # Suggestions come from the Chinese spellings (codes are for machines).
        self._spellings = [w for w in self.words if not w.isascii()]

    def lookup(self, word: str) -> TagType | None:
        return self.words.get(normalize_tag(word))

    def suggest(self, word: str) -> TagType | None:
        """The tag whose spelling is closest to `word`: one that contains it or is contained
        in it (the longest such), else the best difflib match above a similarity of 0.5."""
        word = normalize_tag(word)
        if not word:
            return None
        inside = [w for w in self._spellings if len(w) >= 2 and (w in word or word in w)]
        if inside:
            return self.words[max(inside, key=lambda w: (len(w), w))]
        close = difflib.get_close_matches(word, self._spellings, n=1, cutoff=0.5)
        return self.words[close[0]] if close else None

    def column_titles(self) -> dict[str, str]:
        """Normalised column title → field key, for ledgers with one column per tag
        ("低保", "是否低保户", "残疾人")."""
        titles: dict[str, str] = {}
        for spelling in self._spellings:
            key = TAG_COLUMN + self.words[spelling].code
            titles.setdefault(spelling, key)
            titles.setdefault("是否" + spelling, key)
        return titles
