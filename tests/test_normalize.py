from hypothesis import given
from hypothesis import strategies as st

from qa_audit.normalize import digits_only, normalize, pinyin_key, spoken, to_simplified

chinese_text = st.text(alphabet=st.sampled_from(list(
    "您好大龙供暖报修為您服務請問一二三四五六七八九十零幺两洞号楼单元，。？！ 0123456789ＡＢ１２")),
    max_size=40)


@given(chinese_text)
def test_normalize_is_idempotent(text: str) -> None:
    once = normalize(text)
    assert normalize(once) == once


@given(st.text(alphabet="0123456789", min_size=2, max_size=12))
def test_spoken_digits_round_trip(digits: str) -> None:
    # An agent reads a phone or room number digit by digit; normalization gets it back.
    assert normalize(spoken(digits)) == digits
    assert digits_only(spoken(digits)) == digits


@given(st.text(alphabet="0123456789", min_size=7, max_size=11))
def test_yao_and_dong_are_one_and_zero_in_numbers(digits: str) -> None:
    spoken_by_radio = spoken(digits).replace("一", "幺").replace("零", "洞")
    assert digits_only(spoken_by_radio) == digits


def test_the_forms_a_transcript_really_takes_compare_equal() -> None:
    human = "您好，大龙供暖报修，三零一号为您服务，请问您有什么问题？"
    asr = "您好 大龍供暖報修 301號為您服務 請問您有什麼問題"
    assert normalize(human) == normalize(asr)


def test_quantities_and_digit_runs_are_read_differently() -> None:
    assert normalize("宏城花园十一号楼二单元五零三") == "宏城花园11号楼2单元503"
    assert normalize("二十号楼") == "20号楼"
    assert digits_only("130-1234 5678") == "13012345678"
    # 洞 on its own is a hole in a pipe, not a zero.
    assert normalize("暖气片有个洞") == "暖气片有个洞"


def test_full_width_and_traditional() -> None:
    assert normalize("Ｈｅｌｌｏ，１２３") == "hello123"
    assert to_simplified("維修人員會盡快跟您聯繫") == "维修人员会尽快跟您联系"


def test_pinyin_key_makes_homophones_equal() -> None:
    assert pinyin_key("公暖报修") == pinyin_key("供暖保修")
    assert pinyin_key("公暖") != pinyin_key("宫殿")


def test_number_words_that_are_not_numbers() -> None:
    # 万 in a community name is a word; "十七八度" is 17–18 degrees, not 10-7-8.
    assert normalize("万科城三号楼") == "万科城3号楼"
    assert normalize("十七八度").startswith("17")
    assert normalize("十五六度") != "1056度"
