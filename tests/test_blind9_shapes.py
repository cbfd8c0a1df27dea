"""Shapes of speech first met in blind9. The calls are check cases now (tests/checks/*.yaml,
marked blind9); what stays here is the matching of a long scripted phrase heard with one
character off, which no form item shows on its own."""

from qa_audit.matching import phrase_score


def test_a_long_phrase_heard_with_one_character_off_still_matches() -> None:
    """"请您随时拔打" for 拨打: the phrase's 请您 is part of what was said, so one character
    off in thirteen is a match, not a doubt."""
    text = "感谢您的合作以后有什么问题请您随时拔打我们的报修电话我们将及时为您服务"
    assert phrase_score("以后有什么问题请您随时拨打", text) >= 85
    # Boilerplate still does not make two questions alike.
    assert phrase_score("请问您的姓名", "请问您的具体地址") < 85
