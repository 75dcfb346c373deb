"""docs/lecture.md, generated: the CNN-foundations lecture, slide by slide, with every number
and figure computed by foveanet's own code.

    python -m foveanet.docs.build              # writes docs/lecture.md and docs/lecture_images/
    python -m foveanet.docs.build --check      # exit 1 if docs/lecture.md is stale
    python -m foveanet.docs.build --run runs/demo-lenet5   # with a trained run (own output dir)

Layout: ``facts_*.py`` compute the values (one dict of strings per part of the lecture),
``sections_*.py`` hold the prose with ``${name}`` placeholders, ``figures.py`` draws the
pictures, ``build.py`` puts them together.
"""
