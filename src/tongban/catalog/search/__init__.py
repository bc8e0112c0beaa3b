"""Catalogue search (decision 0005): search documents of item versions, the query language
(bigrams, pinyin, initials, synonyms), the two index backends and the highlighting."""
