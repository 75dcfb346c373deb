"""The hand-typed ground truth of the real text photos, and the CER used on them."""
import pytest

from foveanet.errors import UserError
from foveanet.ocr.photos import _cer, load_transcriptions, photo_path


def test_transcriptions_cover_the_issues_images():
    t = load_transcriptions()
    assert list(t) == ["opencv:imageTextN.png", "opencv:imageTextR.png", "opencv:text_defocus.jpg",
                       "opencv:text_motion.jpg", "opencv:licenseplate_motion.jpg", "skimage:text.png",
                       "skimage:page.png"]
    assert len(t["opencv:imageTextN.png"]["lines"]) == 13
    assert t["opencv:imageTextN.png"]["lines"] == t["opencv:imageTextR.png"]["lines"]   # the same page
    assert t["skimage:page.png"]["lines"][0] == "Region-based segmentation"
    for ref in ("opencv:text_motion.jpg", "opencv:licenseplate_motion.jpg"):   # no invented truth
        assert t[ref]["lines"] == [] and t[ref]["note"].startswith("illegible")
    assert t["skimage:text.png"]["note"].startswith("uncertain")


def test_photos_resolve_or_say_what_to_install():
    for ref in load_transcriptions():
        try:
            assert photo_path(ref).is_file()
        except UserError as e:
            assert "install" in str(e)
    with pytest.raises(UserError, match="expected 'opencv:NAME' or 'skimage:NAME'"):
        photo_path("flickr:cat.jpg")


def test_cer_joins_lines_with_spaces():
    # a line split in two costs nothing; one wrong character of 11 costs 1/11
    assert _cer(["hello", "world"], ["hello world"]) == 0
    assert _cer(["hello  warld"], ["hello", "world"]) == pytest.approx(1 / 11)
    assert _cer([], ["abc"]) == 1


def test_a_malformed_row_is_a_one_line_error(tmp_path):
    p = tmp_path / "photos.tsv"
    p.write_text("image\tline\ttext\tnote\nopencv:x.png\t1\tonly three\n", encoding="utf-8")
    with pytest.raises(UserError, match="line 2: expected 4 tab-separated fields"):
        load_transcriptions(p)
