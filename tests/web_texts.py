"""Paragraphs written for the web tests (never taken from ../shared): a thesaurus-spun
paragraph, and a news item with names and numbers next to a spun copy of it."""

# A paragraph run through a thesaurus by hand.
SPUN = (
    "Our little hamlet school will close its entrances in July after one hundred years. Mothers "
    "and fathers stated the choice arrived as a jolt, and numerous kids will at this point "
    "journey by coach to a bigger school in the following town."
)
# A news item with names and numbers (what a source index fingerprints), and a spun copy of it.
SOURCE = (
    "The Kestrel Bay harbour festival drew a huge crowd on Saturday 14 June. Visitors walked "
    "along Quarry Quay, ate fresh fish from Polwenna Fisheries and watched the old boats sail past "
    "Tregarthen lighthouse before the fireworks began at 22:30. Organisers from the Kestrel Bay "
    "Trust said they expect 9,000 visitors next year, and Councillor Ida Tremayne has promised "
    "12 extra buses from Penvose station to the seafront."
)
SPUN_COPY = (
    "The Kestrel Bay harbour festival drew an enormous crowd on Saturday 14 June. Guests walked "
    "along Quarry Quay, consumed fresh fish from Polwenna Fisheries and observed the old boats "
    "sail past Tregarthen lighthouse prior to the fireworks started at 22:30. Organisers from the "
    "Kestrel Bay Trust stated they anticipate 9,000 guests next year, and Councillor Ida Tremayne "
    "has promised 12 additional buses from Penvose station to the seafront."
)
