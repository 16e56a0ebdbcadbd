#!/usr/bin/env python3
"""Writes the tokenizer goldens from the reference: llama-models' Tokenizer (tiktoken 0.14.0 with
Llama 4's tokenizer.model, the o200k pattern and the 400k/25k chunking).

Outputs (JSON lines, one case per line):
  tests/data/tokenizer/cases.jsonl   the categories of tokenizer.md §6
  tests/data/tokenizer/corpus.jsonl  ids added to the corpus documents (build_corpus.py)

A case is {"name", "text" | "hex" | "repeat", "bos", "eos", "allowed", "ids"}:
  text    the input string;   hex: raw input bytes (maybe invalid UTF-8), decoded with
          errors="replace" before encoding, as the C++ API does for byte input;
  repeat  [[unit, count], ...] concatenated (keeps huge inputs small on disk);
  allowed "none", "all" or a list of special-token names.

Usage: python make_goldens.py TOKENIZER_MODEL REPO_ROOT
"""
import json
import sys
from pathlib import Path

from llama_models.llama4.tokenizer import Tokenizer

CONTRACTIONS = ["don't", "DON'T", "Don'T", "it's", "IT'S", "it'ſ", "we're", "WE'RE", "they've", "I'm", "I'M",
                "we'll", "WE'LL", "he'd", "HE'D", "don’t", "it’s", "rock'n'roll", "'s", "'tis", "x'S", "o'Re",
                "can't've", "y'all'd've", " they'll", "'LL'll", "abc'Ll", "'ſ", "ÀB'S", "ǅ'd"]
WORDS = ["Hello world", "HelloWorld", "helloWorld", "camelCaseString", "XMLHttpRequest", "getHTTPResponseCode",
         "ALL CAPS WORDS", "ΑΒΓ", "ΑΒΓδε", "ǅungla", "ǈ", "ABCdef", "abcDEF", "a.b.c", "(hello)", ".Net",
         "\tindented", "foo_bar_baz", "__init__", "snake_case_NAME", "MiXeD CaSe", "iPhone", "eBay", "McDonald's"]
NUMBERS = ["1", "12", "123", "1234", "1234567890", " 123", "3.14159", "1,000,000", "2024-01-15", "12:30:45",
           "v1.2.3", "0x1F", "1e-10", "½ ¼ ¾", "x² + y³", "①②③④", "ⅫⅣ", "٠١٢٣٤٥٦٧٨٩", "०१२३४५६७८९",
           "๑๒๓", "１２３４", "$100.00", "-42", "+1-555-0100", "10%", "a1b2c3", "123abc", "abc123"]
SPACES = ["a  b", "a   b", "  leading", "trailing  ", "   ", " ", "\t", "\t\tx", "a\tb", "a \tb", "\n", "\n\n",
          "\n\n\n", "a\nb", "a\r\nb", "\r\n\r\n", "a\rb", " \n \n  \n\t\nx", "  \n  b", "x \n", "x\n ",
          "a\u00a0b", "a\u00a0\u00a0b", "\u00a0123", "\u3000日本", "a\u2003b", "a\u2009b", "a\u202fb", "a\u205fb",
          "a\u1680b", "a\u0085b", "a\u2028b\u2029c", "a\x1cb", "a\x1d\x1e\x1fb", "\x1c\x1c", "a\x0bb", "a\x0cb",
          " \t \n", "x   \n\n  y", "\t!", "\u00a0!", " !", "  !", "end \t"]
CODE = [
    "def foo(x):\n    return x + 1\n",
    "class A:\n\tdef __init__(self):\n\t\tpass\n",
    "#include <vector>\nint main() { std::vector<int> v{1, 2, 3}; return v.size(); }\n",
    "template <typename T> T max(T a, T b) { return a > b ? a : b; }",
    "for (int i = 0; i < n; ++i) {\n    sum += a[i] * b[i];\n}\n",
    '{"key": "value", "n": [1, 2.5, null, true], "nested": {"a": {}}}',
    "<html><head><title>Test</title></head><body><p class=\"x\">Hi &amp; bye</p></body></html>",
    "https://example.com/path/to/page?query=1&x=y#frag",
    "/usr/local/bin/python3 -m pip install --upgrade pip",
    "x = y // 2  # integer division\n/* comment */ // another\n",
    "SELECT id, name FROM users WHERE age > 21 ORDER BY name;",
    "    /**\n     * Doc comment.\n     */\n",
    "a->b; a::b; a<<=1; a>>=2; a!==b; a===b; a=>b;",
    "fn main() { println!(\"{}\", 1 + 2); }",
    "if x == 1:\r\n    print('crlf')\r\n",
    "$ echo $HOME && ls -la | grep '^d'",
    "@decorator\ndef f(*args, **kwargs): ...",
    "mailto:someone@example.org",
    "C:\\Users\\name\\file.txt",
    "```python\nprint('hi')\n```",
]
SCRIPTS = ["你好世界", "我们今天去图书馆看书。", "日本語のテキストです。", "カタカナ ひらがな", "ﾊﾝｶｸｶﾀｶﾅ",
           "안녕하세요 세계", "한국어", "مرحبا بالعالم", "السلام عليكم", "שלום עולם", "नमस्ते दुनिया",
           "हिन्दी", "สวัสดีชาวโลก", "ภาษาไทย", "Привет мир", "ПРИВЕТ Мир", "Γειά σου Κόσμε", "ΕΛΛΗΝΙΚΆ",
           "Xin chào thế giới", "Tiếng Việt", "Straße", "STRASSE ẞ", "ß ẞ ß", "Ελληνικά and English",
           "Ḁḁ Ṩṩ", "ꙮ", "𐌰𐌱𐌲 gothic", "𝐀𝐁𝐂 𝒜ℬ𝒞", "ｆｕｌｌｗｉｄｔｈ", "ǲǳ", "İstanbul ıi", "Ⓐⓑ",
           "ᚠᚢᚦ", "ⴰⵣⵓⵍ", "ᏣᎳᎩ", "ગુજરાતી", "தமிழ்", "ಕನ್ನಡ", "සිංහල", "ქართული", "Հայերեն", "ትግርኛ",
           "ᠮᠣᠩᠭᠣᠯ", "བོད་སྐད", "ꦧꦱꦗꦮ", "𖼀𖼁", "𞤀𞤁 adlam"]
NORMAL = ["e\u0301", "\u00e9", "cafe\u0301", "caf\u00e9", "n\u0303", "A\u030a", "\u212b",
          "Z\u0351\u0352\u0353a\u0354\u0355l\u0356\u0357g\u0358o", "z̷̢̛̲̦̰̯̓͗̿͑a̴̧͍̘͓͎̐̈́̆̚l̷̡̬͚̪̎̄̋g̵̛͇̠̺̜̈́̌̓o",
          "\u0301abc", " \u0301", "\u0301\u0301", "a\u0308\u0301", "\u1100\u1161\u11a8"]
EMOJI = ["👍", "👍👍", " 👍", "👍🏽", "👨‍👩‍👧‍👦", "🏳️‍🌈", "🇺🇸🇯🇵", "🇩🇪", "1️⃣", "#️⃣", "*️⃣",
         "❤️", "❤️‍🔥", "🧑🏿‍💻", "I ❤️ NY", "ok 👌🏻 fine", "🤖🤖🤖🤖", "😀😃😄😁😆😅😂🤣", "☺︎", "🏴󠁧󠁢󠁳󠁣󠁴󠁿"]
INVISIBLE = ["\ufeffBOM", "a\u200bb", "zero\u200bwidth\u200bspace", "\u200e\u200fmarks", "a\u200db", "a\u200cb",
             "\u2060joiner", "\u180ex", "x\u00adsoft", "\u202eRTL override", "\u2066isolate\u2069"]
CONTROL = ["\x00", "a\x00b", "\x01\x02\x03", "\x07bell", "\x1b[31mred\x1b[0m", "\x7f", "a\x08b", "\x80\x81\x9f",
           "\x9c", "tab\tnull\x00"]
PUNCT = ["!!!", "...", "?!", "—", "–-", "«»", "„“”", "''", "\"\"", "'''", "(((", ")))", "[[]]", "{{}}", "<<>>",
         "***", "---", "===", "~~~", "@@", "##", "$$", "%%", "^^", "&&", "||", "\\\\", "//", ";;\n\n", " */\n",
         "/b", "a/b/c", ".\n", ",\r\n", "!\n/", "§¶†‡", "€£¥₹", "°±×÷", "™®©", "←→↑↓", "∀∃∈∉", "♠♣♥♦"]
INVALID_HEX = ["ff", "fe", "c0af", "c0", "e0", "e080", "e0a0", "ed a0 80", "eda080", "f09f91", "f09f918d",
               "f4908080", "f5", "f8888080", "80", "8080", "bf", "41ff42", "41c242", "e282", "e282ac", "e282ac80",
               "f0", "f0 9f", "c3", "c328", "a0a1", "e28228", "e22882", "f0288c28", "f09028bc", "f0288cbc",
               "cebae1bdb9cf83cebcceb5", "edbfbf", "eda080edb080", "efbfbd", "fffe", "feff", "00ff00",
               "68656c6c6f20ff776f726c64"]
SPECIAL = ["<|eot|>", "<|begin_of_text|>Hello<|end_of_text|>", "a<|eot|>b", "<|header_start|>user<|header_end|>\n\nhi",
           "<|eom|><|eot|>", "<|image|><|patch|>", "<|eot_id|>", "<|start_header_id|>", "<|python_tag|>",
           "<|reserved_special_token_903|>", "<|reserved_special_token_904|>", "<|<|eot|>", "<|eot|>|>",
           "<|EOT|>", "< |eot| >", "text <|python_start|>code<|python_end|> more", "<|finetune_right_pad|>",
           "<|finetune_right_pad_id|>", "<|reasoning_thinking_start|>think<|reasoning_thinking_end|>",
           "<|text_post_train_reserved_special_token_6|>", "x<|fim_prefix|>y<|fim_middle|>z<|fim_suffix|>"]
MISC = ["", "a", "A", "!", " a", " A", "Hello, World!", "The quick brown fox jumps over the lazy dog.",
        "I'm gonna say: \"It's fine\" — really.", "e.g. i.e. etc.", "U.S.A.", "Mr. Smith's car",
        "hello\n\nworld\n", "line1\nline2\r\nline3\rline4", "   indented\n      more\n", "α+β=γ", "x_1^2",
        "user@example.com", "#hashtag @mention", "C++ C# F#", "can't won't shan't", "ALLCAPS123", "word's'",
        "a'", "'", "''s", "it''s", "it's'", "Ab'Cd", "ABC'DEF", "'re're", "'Re 'rE 'RE"]


def fuzz_texts(n, seed=20261127):
    """Random mixes of the character classes the pattern distinguishes (seeded, so reproducible)."""
    import random

    rng = random.Random(seed)
    pools = [
        [chr(c) for c in range(0x20, 0x7F)],
        list(" \t\n\r\x0b\x0c\x85\xa0\u1680\u2000\u2001\u200a\u2028\u2029\u202f\u205f\u3000\x1c\x1d\x1e\x1f"),
        list("'sStTrReEvVmMlLdD\u017f\u2019"),
        [chr(c) for c in range(0x300, 0x370)],
        [chr(c) for c in range(0x370, 0x530)],
        [chr(c) for c in range(0x4E00, 0x4E40)],
        [chr(c) for c in range(0x3040, 0x3100)],
        [chr(c) for c in range(0x600, 0x700)],
        [chr(c) for c in range(0x900, 0x980)],
        [chr(c) for c in range(0xE00, 0xE80)],
        [chr(c) for c in range(0x1F300, 0x1F400)] + ["\u200d", "\ufe0f", "\U0001f3fd"],
        [chr(c) for c in range(0x2150, 0x2190)] + [chr(c) for c in range(0x2460, 0x2480)],
        [chr(c) for c in (rng.randrange(0x80, 0x110000) for _ in range(4000)) if not 0xD800 <= c < 0xE000],
        list("0123456789"),
        list("/\\<|>()[]{}.,;:!?\"#$%&*+-=@^_`~"),
    ]
    out = []
    for _ in range(n):
        parts = []
        for _ in range(rng.choice([1, 2, 3, 5, 8, 13, 30, 80])):
            pool = rng.choice(pools)
            parts.append("".join(rng.choice(pool) for _ in range(rng.choice([1, 1, 2, 3, 6]))))
        out.append("".join(parts))
    return out


def long_cases():
    """Runs around the 25,000-code-point split and the 400,000 slice (tokenizer.md §2.2)."""
    out = []
    for n in (24999, 25000, 25001, 50000, 50001, 60000):
        out.append((f"long/space_{n}", [[" ", n]]))
    for n in (25000, 25001, 30000):
        out.append((f"long/nonspace_a_{n}", [["a", n]]))
        out.append((f"long/newline_{n}", [["\n", n]]))
        out.append((f"long/digits_{n}", [["1234567890", n // 10]]))
    out.append(("long/dots_26000", [[".", 26000]]))
    out.append(("long/cjk_26000", [["中", 26000]]))
    out.append(("long/emoji_26000", [["😀", 26000]]))
    out.append(("long/word_space_run", [["word ", 3], [" ", 30000], ["tail", 1]]))
    out.append(("long/mixed_after_space_run", [["x", 1], [" ", 25000], ["yz", 1]]))
    out.append(("long/tabs_30000", [["\t", 30000]]))
    out.append(("long/crlf_15000", [["\r\n", 15000]]))
    out.append(("long/nbsp_26000", [["\u00a0", 26000]]))
    out.append(("long/x1c_26000", [["\x1c", 26000]]))
    out.append(("long/hello_400010", [["Hello world! ", 30770]]))
    out.append(("long/a_400001", [["a", 400001]]))
    out.append(("long/mixed_450000", [["The quick brown fox. ", 20000], [" ", 26000], ["end", 1]]))
    return out


def main() -> None:
    model, root = sys.argv[1], Path(sys.argv[2])
    tok = Tokenizer(Path(model))
    cases = []

    def add(name, text=None, *, raw=None, repeat=None, bos=False, eos=False, allowed="none"):
        if repeat is not None:
            s = "".join(u * n for u, n in repeat)
        elif raw is not None:
            s = raw.decode("utf-8", errors="replace")
        else:
            s = text
        allowed_special = set() if allowed == "none" else ("all" if allowed == "all" else set(allowed))
        ids = tok.encode(s, bos=bos, eos=eos, allowed_special=allowed_special)
        c = {"name": name}
        if repeat is not None:
            c["repeat"] = repeat
        elif raw is not None:
            c["hex"] = raw.hex()
        else:
            c["text"] = text
        c.update({"bos": bos, "eos": eos, "allowed": allowed, "ids": ids})
        cases.append(c)

    groups = {"contraction": CONTRACTIONS, "word": WORDS, "number": NUMBERS, "space": SPACES, "code": CODE,
              "script": SCRIPTS, "normalization": NORMAL, "emoji": EMOJI, "invisible": INVISIBLE,
              "control": CONTROL, "punct": PUNCT, "misc": MISC}
    for g, items in groups.items():
        for i, s in enumerate(items):
            add(f"{g}/{i}", s)
    # The same inputs in context: glued to words and spaces, which changes the splits.
    for g in ("contraction", "number", "punct", "emoji", "script", "invisible"):
        for i, s in enumerate(groups[g]):
            add(f"{g}/ctx/{i}", f"x {s} y{s}z\n{s}")
    for i, h in enumerate(INVALID_HEX):
        add(f"invalid_utf8/{i}", raw=bytes.fromhex(h.replace(" ", "")))
        add(f"invalid_utf8/ctx/{i}", raw=b"ab " + bytes.fromhex(h.replace(" ", "")) + b"cd")
    for i, s in enumerate(SPECIAL):
        add(f"special/none/{i}", s)
        add(f"special/all/{i}", s, allowed="all")
        add(f"special/set/{i}", s, allowed=["<|eot|>", "<|python_start|>"])
    for i, s in enumerate(["Hello", "", "<|eot|>", " a b "]):
        add(f"flags/bos/{i}", s, bos=True)
        add(f"flags/eos/{i}", s, eos=True)
        add(f"flags/both/{i}", s, bos=True, eos=True)
    for i, s in enumerate(fuzz_texts(400)):
        add(f"fuzz/{i}", s)
    for name, rep in long_cases():
        add(name, repeat=rep)

    out = root / "tests/data/tokenizer/cases.jsonl"
    with open(out, "w", encoding="utf-8") as f:
        for c in cases:
            f.write(json.dumps(c, ensure_ascii=False) + "\n")
    print(f"{len(cases)} cases -> {out}", file=sys.stderr)

    corpus = root / "tests/data/tokenizer/corpus.jsonl"
    docs = [json.loads(line) for line in open(corpus, encoding="utf-8")]
    n_ids = 0
    with open(corpus, "w", encoding="utf-8") as f:
        for d in docs:
            d["ids"] = tok.encode(d["text"], bos=False, eos=False)
            n_ids += len(d["ids"])
            f.write(json.dumps({"name": d["name"], "text": d["text"], "ids": d["ids"]}, ensure_ascii=False) + "\n")
    print(f"{len(docs)} corpus documents, {n_ids} ids -> {corpus}", file=sys.stderr)


if __name__ == "__main__":
    main()
