"""Putting back the domain words Whisper writes as near-homophones, and nothing else."""

from __future__ import annotations

import pytest

from qa_audit.asr_lexicon import Lexicon, domain_words, sounds
from qa_audit.phrasebook import load_phrasebook


@pytest.fixture(scope="module")
def lexicon() -> Lexicon:
    book = load_phrasebook()
    return Lexicon(["怡馨家园", "西辛庄小区", *book.vocabulary(), *book.agent_phrases()])


@pytest.mark.parametrize(("heard", "said"), [
    ("您好,我们是公乱报修平台,对您家报修的处理情况进行回访。",
     "您好,我们是供暖报修平台,对您家报修的处理情况进行回访。"),
    ("请您方便的时候交纳公乱费。", "请您方便的时候交纳供暖费。"),
    ("好,为修人员会景快跟您联系,感谢您的来店,再见!",
     "好,维修人员会尽快跟您联系,感谢您的来电,再见!"),
    ("以后有什么问题,请您随时播打我们的报修电话", "以后有什么问题,请您随时拨打我们的报修电话"),
    ("对全物都凉,", "对全屋都凉,"),
    ("宜馨家园二号楼四单元六零一。", "怡馨家园二号楼四单元六零一。"),
    ("暖期不热", "暖气不热"),
])
def test_misheard_domain_words_are_put_back(lexicon, heard, said):
    assert lexicon.correct(heard) == said


@pytest.mark.parametrize("text", [
    "换了个街头",  # a word of its own (接头 sounds the same)
    "你是谁啊",  # two words that sound like 试水
    "你好，大龙供暖报修",  # 你 is not 您: the audit must see a non-standard greeting
    "我不是说了吗，四单元201。",
    "马秀英。131456789201",
    "",
    "OK 123",
])
def test_everything_else_is_left_as_it_was(lexicon, text):
    assert lexicon.correct(text) == text


def test_only_the_same_syllables_count():
    # 您好 and 宜好 share a syllable, not the sound: no replacement on a near miss.
    assert Lexicon(["您好"]).correct("宜好大龙") == "宜好大龙"
    # The blurred distinctions of a telephone line do count: l/n, in/ing, zh/z.
    assert sounds("公乱") == sounds("供暖")
    assert sounds("景快") == sounds("尽快")


def test_the_lexicon_is_made_of_clauses_and_their_words():
    words = domain_words(["好！维修人员会尽快跟您联系。", "请您随时拨打XXXXXXX"])
    assert {"维修人员会尽快跟您联系", "维修", "尽快", "请您随时拨打", "拨打"} <= words
    assert not any("X" in w or len(w) < 2 for w in words)
    assert not Lexicon([]) and Lexicon([]).correct("公乱") == "公乱"
