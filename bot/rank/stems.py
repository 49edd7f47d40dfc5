"""Words Snowball's English stemmer joins to a family of another sense, each family given a stem
of its own: the overrides Lucene's StemmerOverrideFilter and Elasticsearch's `stemmer_override`
apply for a stemmer's known slips.

Each slip would match a keyword people type with a word every field writes: "reasoning" with
"reasonable", "generalization" with "general", "complexity" with "complex", "distributed" with
"distribution", "relational" with "related", "consistency" with "consists", "localization" with
"local", "experience replay" with "experiments". The families were read off the stems of the
benchmark's 1,000 arXiv abstracts and the seed page, where a stem held words of two senses; their
inflections and British spellings come along. Joins that keep one sense stay ("robotic" and
"robots", "decodable" and "decoding", "optimal" and "optimization").

A change here changes the vocabulary: raise STEMS, so that saved models are fitted again.
"""

from __future__ import annotations

STEMS = 4  # the version of the stemming; a saved model of another is fitted again (`model.load_model`)

_FAMILIES = {
    "reasonabl": "reasonable reasonably",
    "considerabl": "considerable considerably",
    "remarkabl": "remarkable remarkably",
    "probabli": "probably",
    "invariabl": "invariably",
    "relativ": "relative relatives relatively relativity",
    "relation": "relation relations",
    "relational": "relational relationally",
    "experienc": "experience experiences",  # as Snowball stems "experienced" and "experiencing"
    "experiment": "experiment experiments experimented experimenting",  # as Snowball stems "experimental"
    "generaliz": "generalization generalizations generalize generalized generalizes generalizing "
    "generalisation generalisations generalise generalised generalises generalising",
    "complexiti": "complexity complexities",
    "consistent": "consistent consistency consistencies consistently",
    "localiz": "localization localizations localize localized localizes localizing "
    "localisation localisations localise localised localises localising",
    "regulariz": "regularization regularizations regularize regularized regularizer regularizers regularizes "
    "regularizing regularisation regularise regularised regulariser regularising",
    "normaliz": "normalization normalizations normalize normalized normalizes normalizing normalizer "
    "normalisation normalise normalised normalises normalising",
    "initializ": "initialization initializations initialize initialized initializes initializing "
    "initialisation initialise initialised initialises initialising",
    "visualiz": "visualization visualizations visualize visualized visualizes visualizing "
    "visualisation visualisations visualise visualised visualising",
    "personaliz": "personalization personalize personalized personalizes personalizing "
    "personalisation personalise personalised personalising",
    "distribution": "distribution distributions distributional distributionally",
    "modulat": "modulation modulations modulate modulated modulates modulating modulator modulators",
    "continual": "continual continually",
    "mechanic": "mechanic mechanics mechanical mechanically",
    "multiplic": "multiplication multiplications multiplicative multiplicatively",
    "conversat": "conversation conversations conversational",
    "subsequenc": "subsequence subsequences",
    "importanc": "importance",
    "provenanc": "provenance",
    "fitness": "fitness",
    "numerous": "numerous",
    "informal": "informal informally",
    "identic": "identical identically",
    "respectiv": "respective respectively",
    "additiv": "additive additively",
    "effectiv": "effective effectively effectiveness",
    "positiv": "positive positives positively positivity",
    "transitiv": "transitive transitivity",
    "critical": "critical critically criticality",
    "terminat": "termination terminations terminate terminates terminated terminating",
    "derivativ": "derivative derivatives",
    "materializ": "materialize materialized materializes materializing materialization",
}

STEM_OVERRIDES: dict[str, str] = {word: stem for stem, words in _FAMILIES.items() for word in words.split()}
