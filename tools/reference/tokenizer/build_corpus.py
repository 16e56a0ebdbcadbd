#!/usr/bin/env python3
"""Builds tests/data/tokenizer/corpus.jsonl: >= 1 MB of real multilingual text and source code.

Deterministic given the same Debian image: gettext catalogs (/usr/share/locale, many languages
and scripts), CPython's CJK test texts and stdlib sources, license texts, C headers, and a few
paragraphs written here. The result is committed, so CI never reruns this.

Usage: python build_corpus.py OUT.jsonl   (no ids: make_goldens.py adds them)
"""
import glob
import gettext
import json
import os
import sys
import sysconfig

STDLIB = sysconfig.get_paths()["stdlib"]

WRITTEN = [
    ("written/de", "Größere Straßen führen über die Brücke. Die Maße sind in Ordnung; ẞ ist das große ß."),
    ("written/fr", "L'été dernier, nous sommes allés à Montréal ; c'était « magnifique » !"),
    ("written/vi", "Tiếng Việt có dấu: Người ta nói rằng học một ngôn ngữ mới là mở ra một thế giới mới."),
    ("written/zh", "我们今天去图书馆看书。人工智能正在改变世界，机器学习是其中的一个重要分支。"),
    ("written/ja", "今日は良い天気ですね。カタカナとひらがなを混ぜて書きます。東京タワーに行きました。"),
    ("written/ko", "안녕하세요. 한국어 텍스트를 토큰화하는 것은 흥미로운 문제입니다."),
    ("written/ar", "اللغة العربية جميلة، وتكتب من اليمين إلى اليسار. الأرقام: ٠١٢٣٤٥٦٧٨٩"),
    ("written/he", "עברית נכתבת מימין לשמאל. שלום עולם!"),
    ("written/hi", "हिन्दी भारत की एक प्रमुख भाषा है। संख्याएँ: ०१२३४५६७८९"),
    ("written/th", "ภาษาไทยไม่มีการเว้นวรรคระหว่างคำ ทำให้การตัดคำเป็นเรื่องยาก"),
    ("written/ru", "Съешь же ещё этих мягких французских булок, да выпей чаю."),
    ("written/el", "Ξεσκεπάζω την ψυχοφθόρα βδελυγμία. ΑΒΓΔΕ αβγδε."),
    ("written/emoji", "Great job 👍🏽! Family: 👨‍👩‍👧‍👦, flags 🇺🇸🇯🇵🇩🇪, keycap 1️⃣ #️⃣, hearts ❤️‍🔥."),
]


def add(docs, name, text):
    if text and text.strip():
        docs.append({"name": name, "text": text})


def gettext_docs(docs, budget):
    used = 0
    langs = sorted(os.listdir("/usr/share/locale"))
    for lang in langs:
        mos = sorted(glob.glob(f"/usr/share/locale/{lang}/LC_MESSAGES/*.mo"))
        parts = []
        size = 0
        for mo in mos:
            try:
                with open(mo, "rb") as f:
                    cat = gettext.GNUTranslations(f)
            except Exception:
                continue
            for key in sorted(cat._catalog, key=repr):
                val = cat._catalog[key]
                if isinstance(val, str) and val and key:
                    parts.append(val)
                    size += len(val.encode())
                if size > 6000:
                    break
            if size > 6000:
                break
        text = "\n".join(parts)
        add(docs, f"locale/{lang}", text)
        used += len(text.encode())
        if used > budget:
            break


def file_docs(docs, paths, budget, prefix):
    used = 0
    for p in paths:
        try:
            with open(p, encoding="utf-8") as f:
                text = f.read()
        except (UnicodeDecodeError, OSError):
            continue
        text = text[:40000]
        add(docs, prefix + os.path.basename(p), text)
        used += len(text.encode())
        if used > budget:
            break


def main() -> None:
    docs = []
    for name, text in WRITTEN:
        add(docs, name, text)
    gettext_docs(docs, 600_000)
    file_docs(docs, sorted(glob.glob(f"{STDLIB}/test/cjkencodings/*-utf8.txt")), 60_000, "cjk/")
    file_docs(docs, [f"{STDLIB}/{n}" for n in ("json/encoder.py", "textwrap.py", "string.py", "shlex.py",
                                               "difflib.py", "argparse.py", "tokenize.py", "html/parser.py",
                                               "email/utils.py", "unittest/case.py")], 250_000, "python/")
    file_docs(docs, sorted(glob.glob("/usr/share/common-licenses/*")), 120_000, "license/")
    file_docs(docs, [f"/usr/include/{n}" for n in ("stdio.h", "stdlib.h", "string.h", "unistd.h", "fcntl.h",
                                                   "pthread.h", "math.h", "time.h", "signal.h", "errno.h")],
              150_000, "c/")
    with open(sys.argv[1], "w", encoding="utf-8") as f:
        for d in docs:
            f.write(json.dumps(d, ensure_ascii=False) + "\n")
    total = sum(len(d["text"].encode()) for d in docs)
    print(f"{len(docs)} documents, {total} bytes", file=sys.stderr)


if __name__ == "__main__":
    main()
