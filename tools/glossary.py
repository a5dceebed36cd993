"""Keep book/glossary.md whole: every key term a notebook introduces must be in it, and linked to it.

The book's convention: a section introduces a key term once, in bold, with its Chinese name in
parentheses, for example ``**tensor (张量)**`` or ``**multilayer perceptron (多层感知机, MLP)**``. The
glossary (book/glossary.md: one ``{glossary}`` directive per initial letter, each under a ``## A``
heading with a ``(glossary-a)=`` label that the jump bar at the top links) lists each such term with the
same Chinese name, and its definition says where the term is first introduced, as a link to that section:

    tensor (张量)
      A multidimensional array ... First introduced in {doc}`Section 2.1 <../notebooks/02-preliminaries/01-tensors>`.

"First" means the first notebook in _toc.yml reading order whose markdown introduces the term in bold.
In the notebooks the bold term is a Sphinx ``{term}`` role whose explicit target is the entry's term
line, so that the site links it to its entry:

    **{term}`tensors (张量) <tensor (张量)>`**      (or **{term}`tensor (张量)`** when the two are the same)

A plain ``**tensor (张量)**`` still counts as an introduction, but is reported as not linked;
``--link`` rewrites every such bold term into the role form.

Usage (from the repository root):

    python tools/glossary.py            # terms missing from the glossary, then every other problem
    python tools/glossary.py --stub     # the missing terms as glossary entries to paste and complete
    python tools/glossary.py --link     # rewrite bold terms in notebooks' markdown cells into {term} roles

The exit status is 1 when there is a problem, 0 otherwise. tests/test_glossary.py runs the same checks.
Matching is case-insensitive and ignores a plural "s" on the last word (``hyperparameters`` matches the
entry ``hyperparameter``); the notebook's Chinese names must all be among the entry's (an entry may list
several, ``epoch (轮次，迭代周期)``); abbreviations in the parentheses (``SGD``) are ignored.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GLOSSARY = Path("book/glossary.md")

_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_BOLD = re.compile(r"\*\*(?=\S)([^*\n]+?)(?<=\S)\*\*")
# "English (中文)" with ASCII or full-width parentheses; the last parenthesized group is the Chinese.
_TERM = re.compile(r"^(?P<en>.+?)\s*[(（](?P<zh>[^()（）]+)[)）]\s*$")
_DASHES = str.maketrans({c: "-" for c in "\u2010\u2011\u2012\u2013\u2014\u2212"})
_FIRST = re.compile(r"first\s+introduced\s+in\s+(?P<ref>\{doc\}`[^`]+`|\[[^\]]*\]\([^)]+\))", re.I | re.S)
_NEAR_MISS = re.compile(r"\*\*(?=\S)([^*\n]+?)(?<=\S)\*\*\s*[(（]([^()（）\n]*)[)）]")
# A code span (CommonMark: between backtick strings of the same length), a bold term role around one,
# **{term}`title <target>`** or **{term}`target`**, and Sphinx's rule for an explicit title.
_CODE_SPAN = re.compile(r"(?<!`)(`+)(?!`)(.+?)(?<!`)\1(?!`)")
_ROLE = re.compile(r"\*\*\{term\}`(?P<body>[^`\n]+)`\*\*")
_EXPLICIT = re.compile(r"^(?P<title>.+?)\s*<(?P<target>[^<>]*)>$", re.S)
_LETTER_LABEL = re.compile(r"^\((glossary-[^)\s]+)\)=\s*$")


# ---------------------------------------------------------------------------------------------------
# Terms and how they match


def chinese_names(zh: str) -> tuple[str, ...]:
    """The Chinese names in a term's parentheses: "随机梯度下降, SGD" -> ("随机梯度下降",)."""
    parts = re.split(r"[,，、;；/]|\bor\b|\balso\b|又称|或", zh)
    return tuple(re.sub(r"\s+", "", p) for p in parts if _CJK.search(p))


def parse_term(text: str) -> tuple[str, tuple[str, ...]] | None:
    """("English", ("中文", ...)) for a term written "English (中文)", else None."""
    m = _TERM.match(text.strip())
    if not m:
        return None
    en, zh = m.group("en").strip(), m.group("zh")
    if _CJK.search(en) or not re.search(r"[A-Za-z]", en) or not _CJK.search(zh):
        return None
    return en, chinese_names(zh)


def _word_forms(word: str) -> set[str]:
    forms = {word}
    if word.endswith("s") and not word.endswith("ss"):
        forms.add(word[:-1])
        if word.endswith("es"):
            forms.update({word[:-2], word[:-2] + "is"})  # boxes -> box, axes -> axis
        if word.endswith("ices"):
            forms.update({word[:-4] + "ix", word[:-4] + "ex"})  # matrices -> matrix, vertices -> vertex
        if word.endswith("ies"):
            forms.add(word[:-3] + "y")
        if word.endswith("ves"):
            forms.update({word[:-3] + "f", word[:-3] + "fe"})
    return forms


def english_keys(en: str) -> set[str]:
    """Normalized spellings of an English term: lower case, one kind of dash, singular or plural."""
    text = re.sub(r"\s+", " ", en.translate(_DASHES).casefold()).strip()
    head, _, last = text.rpartition(" ")
    return {f"{head} {form}".strip() for form in _word_forms(last)}


def section_number(docname: str) -> str:
    """'notebooks/03-linear-networks/09-distribution-shift' -> '3.9' (or '' for other pages)."""
    m = re.match(r"notebooks/(\d+)-[^/]+/(\d+)-", docname)
    return f"{int(m.group(1))}.{int(m.group(2))}" if m else ""


# ---------------------------------------------------------------------------------------------------
# Notebooks: reading order and the terms they introduce


def toc_docnames(root: Path = ROOT) -> list[str]:
    """Every file of _toc.yml in reading order (root, parts, chapters, nested sections)."""
    import yaml

    toc = yaml.safe_load((root / "_toc.yml").read_text(encoding="utf-8"))
    out: list[str] = []

    def walk(node: object) -> None:
        if isinstance(node, dict):
            if "file" in node:
                out.append(re.sub(r"\.(ipynb|md)$", "", str(node["file"])))
            for key in ("parts", "chapters", "sections"):
                for child in node.get(key, []) or []:
                    walk(child)
        elif isinstance(node, list):
            for child in node:
                walk(child)

    if "root" in toc:
        out.append(re.sub(r"\.(ipynb|md)$", "", str(toc["root"])))
    walk({k: v for k, v in toc.items() if k != "root"})
    return out


@dataclass(frozen=True)
class Intro:
    """One bold "**English (中文)**" in a notebook's markdown, plain or as a {term} role."""

    text: str  # as written between the ** ** (a role's title)
    english: str
    chinese: tuple[str, ...]
    docname: str  # notebooks/02-preliminaries/01-tensors
    cell: int  # index of the markdown cell in the notebook
    order: int  # position in reading order over the whole book
    target: str | None = None  # the {term} role's target; None for a plain bold term
    span: tuple[int, int] = (0, 0)  # where the bold (** included) lies in the cell's source

    @property
    def where(self) -> str:
        sec = section_number(self.docname)
        return f"{self.docname}.ipynb" + (f" (Section {sec}, cell {self.cell})" if sec else f" (cell {self.cell})")


def _blank(m: re.Match[str]) -> str:
    """The match with every character but newlines replaced by a space (keeps positions)."""
    return re.sub(r"[^\n]", " ", m.group(0))


def split_role(body: str) -> tuple[str, str]:
    """(title, target) of a role's content: "tensors (张量) <tensor (张量)>" or just "tensor (张量)"."""
    m = _EXPLICIT.match(body.strip())
    return (m.group("title").strip(), m.group("target").strip()) if m else (body.strip(), body.strip())


def bold_terms(source: str) -> list[tuple[int, int, str, str | None]]:
    """Every bold text of a markdown cell outside code and comments, in order: (start, end, text, target).

    ``text`` is what lies between the ``**`` (a {term} role's title) and ``target`` the role's target,
    None for plain bold; start and end include the ``**``.
    """
    src, roles = _prose(source)
    found = [(*span, *split_role(body)) for span, body in roles]
    found += [(m.start(), m.end(), m.group(1), None) for m in _BOLD.finditer(src)]
    return sorted(found)


def _prose(source: str) -> tuple[str, list[tuple[tuple[int, int], str]]]:
    """A markdown cell with code blocks, comments, code spans (roles' content included) and bold term roles
    blanked out, positions kept; and the bold term roles found, as ((start, end), content)."""
    src = re.sub(r"(?ms)^(`{3,}|~{3,}).*?^\1[ \t]*$", _blank, source)
    src = re.sub(r"<!--.*?-->", _blank, src, flags=re.S)
    roles = []
    for m in _CODE_SPAN.finditer(src):
        role = _ROLE.match(src, m.start() - len("**{term}"))
        if m.start() >= len("**{term}") and role and role.end() == m.end() + 2:
            roles.append(((role.start(), role.end()), role.group("body")))
    src = _CODE_SPAN.sub(_blank, src)
    for (start, end), _ in roles:
        src = src[:start] + " " * (end - start) + src[end:]
    return src, roles


def _cell_source(cell: dict) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else src


def _markdown_cells(path: Path) -> list[tuple[int, str]]:
    nb = json.loads(path.read_text(encoding="utf-8"))
    return [(i, _cell_source(cell)) for i, cell in enumerate(nb.get("cells", []))
            if cell.get("cell_type") == "markdown"]


def introductions(root: Path = ROOT) -> tuple[list[Intro], list[str]]:
    """The key terms introduced in bold in the notebooks of _toc.yml, in reading order.

    Also returns notes: notebooks left out because _toc.yml does not list them, and bold terms
    followed by a Chinese name outside the bold ("**ReLU** (修正线性单元)"), which the convention
    does not count.
    """
    intros: list[Intro] = []
    notes: list[str] = []
    listed = [d for d in toc_docnames(root) if d.startswith("notebooks/")]
    for docname in listed:
        path = root / f"{docname}.ipynb"
        if not path.exists():
            continue
        for cell, source in _markdown_cells(path):
            for start, end, text, target in bold_terms(source):
                parsed = parse_term(text)
                if parsed:
                    intros.append(Intro(text, parsed[0], parsed[1], docname, cell, len(intros), target, (start, end)))
                elif target is not None:
                    notes.append(f"{docname}.ipynb cell {cell}: the bold term role {source[start:end]!r} does not "
                                 f"show 'English (中文)', so it is not counted as a key term")
            for m in _NEAR_MISS.finditer(_prose(source)[0]):
                if _CJK.search(m.group(2)) and not _CJK.search(m.group(1)):
                    notes.append(f"{docname}.ipynb cell {cell}: {m.group(0)!r} has its Chinese name outside the "
                                 f"bold, so it is not counted as a key term (write **English (中文)**)")
    unlisted = sorted(p.relative_to(root).with_suffix("").as_posix() for p in (root / "notebooks").rglob("*.ipynb")
                      if ".ipynb_checkpoints" not in p.parts)
    for docname in unlisted:
        if docname not in listed:
            notes.append(f"{docname}.ipynb is not in _toc.yml: its terms are not checked until it is")
    return intros, notes


# ---------------------------------------------------------------------------------------------------
# The glossary


@dataclass
class Entry:
    """One definition of the {glossary} directive, with its term lines."""

    terms: list[tuple[str, tuple[str, ...], str, int]]  # (english, chinese names, line as written, line no.)
    definition: str
    line: int
    link: str | None = None  # docname the "First introduced in" link points to
    link_text: str | None = None
    bad_terms: list[tuple[str, int]] = field(default_factory=list)
    heading: str | None = None  # the "## ..." heading the entry's directive is under

    @property
    def name(self) -> str:
        return self.terms[0][2] if self.terms else (self.bad_terms[0][0] if self.bad_terms else "?")


def _resolve(target: str, page_dir: str) -> str:
    target = target.strip().split("#")[0]
    target = re.sub(r"\.(ipynb|md|html)$", "", target)
    parts = [] if target.startswith("/") else page_dir.split("/")
    for piece in target.strip("/").split("/"):
        if piece == "..":
            if parts:
                parts.pop()
        elif piece not in ("", "."):
            parts.append(piece)
    return "/".join(parts)


def _link(definition: str, page_dir: str) -> tuple[str | None, str | None]:
    m = _FIRST.search(definition)
    if not m:
        return None, None
    ref = m.group("ref")
    if ref.startswith("{doc}"):
        inner = ref[len("{doc}`"):-1]
        target = re.search(r"<([^>]+)>\s*$", inner)
        return _resolve(target.group(1) if target else inner, page_dir), ref
    return _resolve(re.search(r"\]\(([^)]+)\)", ref).group(1), page_dir), ref


def parse_glossary(path: Path, root: Path = ROOT) -> list[Entry]:
    """The entries of every {glossary} directive in a MyST markdown file."""
    page_dir = path.resolve().parent.relative_to(root.resolve()).as_posix() if path.is_absolute() else \
        path.parent.as_posix()
    lines = path.read_text(encoding="utf-8").splitlines()
    entries: list[Entry] = []
    heading: str | None = None
    i = 0
    while i < len(lines):
        opening = re.match(r"^(`{3,}|:{3,})\{glossary\}", lines[i])
        if re.match(r"^#{2,}\s", lines[i]):
            heading = lines[i].lstrip("#").strip()
        i += 1
        if not opening:
            continue
        fence = opening.group(1)
        current: Entry | None = None
        in_options = True
        while i < len(lines) and not re.match(rf"^{re.escape(fence[0])}{{{len(fence)},}}\s*$", lines[i]):
            line, lineno = lines[i], i + 1
            i += 1
            if in_options and line.startswith(":"):
                continue
            if not line.strip():
                in_options = False
                if current is not None:
                    current.definition += "\n"
                continue
            in_options = False
            if not line[0].isspace():  # a term line
                if current is None or current.definition.strip():
                    current = Entry([], "", lineno, heading=heading)
                    entries.append(current)
                text = re.sub(r"\s+:\s+[^:]*$", "", line.strip())  # "term : index-key" classifier
                parsed = parse_term(text)
                if parsed:
                    current.terms.append((parsed[0], parsed[1], text, lineno))
                else:
                    current.bad_terms.append((text, lineno))
            elif current is not None:
                current.definition += line.strip() + "\n"
        i += 1
    for entry in entries:
        entry.link, entry.link_text = _link(entry.definition, page_dir)
    return entries


def initial(term: str) -> str:
    """The heading an entry belongs under: its first letter in upper case, or "0–9" for a digit."""
    first = term.strip()[:1].upper()
    return "0–9" if first.isdigit() else first


def letter_layout(path: Path, entries: list[Entry]) -> list[str]:
    """Problems with the glossary's A–Z layout: an entry under another letter's heading (or none), a
    letter heading without a ``(glossary-x)=`` label just above it, a label the jump bar does not link."""
    lines = path.read_text(encoding="utf-8").splitlines()
    first_heading = next((i for i, line in enumerate(lines) if re.match(r"^##\s", line)), len(lines))
    jump_bar = "\n".join(lines[:first_heading])
    labels: dict[str, str | None] = {}
    for i, line in enumerate(lines):
        if re.match(r"^##\s", line):
            above = [x for x in lines[max(0, i - 3):i] if x.strip()]
            m = _LETTER_LABEL.match(above[-1]) if above else None
            labels[line.lstrip("#").strip()] = m.group(1) if m else None
    problems = []
    for entry in entries:
        if entry.terms and entry.heading != initial(entry.name):
            where = f"under '## {entry.heading}'" if entry.heading else "under no '## X' heading"
            problems.append(f"{path.name}:{entry.line}: {entry.name} is {where}; it belongs under "
                            f"'## {initial(entry.name)}' (one {{glossary}} directive per initial letter)")
    for heading in sorted({e.heading for e in entries if e.heading}):
        label = labels.get(heading)
        if label is None:
            problems.append(f"{path.name}: '## {heading}' has no '(glossary-...)=' label on the line above it")
        elif f"<{label}>" not in jump_bar:
            problems.append(f"{path.name}: the jump bar above the first heading does not link "
                            f"{{ref}}`{heading} <{label}>`")
    return problems


def term_line(intro: Intro, entry: Entry) -> str:
    """The term line of an entry that a bold term in a notebook names (the role's target)."""
    keys, wanted = english_keys(intro.english), set(intro.chinese)
    return next((t[2] for t in entry.terms if english_keys(t[0]) & keys and wanted <= set(t[1])),
                entry.terms[0][2])


# ---------------------------------------------------------------------------------------------------
# The checks


@dataclass
class Report:
    """Everything check() found; ``ok`` when there is no problem (notes are not problems)."""

    missing: list[tuple[Intro, list[Intro]]] = field(default_factory=list)  # (first intro, all its intros)
    wrong_chinese: list[tuple[Intro, list[Entry]]] = field(default_factory=list)
    bad_terms: list[str] = field(default_factory=list)
    no_link: list[tuple[Entry, Intro | None]] = field(default_factory=list)
    bad_link: list[str] = field(default_factory=list)
    not_first: list[tuple[Entry, Intro]] = field(default_factory=list)
    layout: list[str] = field(default_factory=list)
    unlinked: list[tuple[Intro, str]] = field(default_factory=list)  # (plain bold term, the target it needs)
    bad_target: list[tuple[Intro, str]] = field(default_factory=list)  # (role, the target it needs)
    notes: list[str] = field(default_factory=list)
    intros: list[Intro] = field(default_factory=list)
    entries: list[Entry] = field(default_factory=list)
    first: dict[int, Intro] = field(default_factory=dict)  # id(entry) -> first intro

    @property
    def ok(self) -> bool:
        return not (self.missing or self.wrong_chinese or self.bad_terms or self.no_link or self.bad_link
                    or self.not_first or self.layout or self.unlinked or self.bad_target)


def _assign(intro: Intro, entries: list[Entry]) -> tuple[Entry | None, list[Entry]]:
    """The glossary entry an introduction belongs to, and the entries with the same English term."""
    keys = english_keys(intro.english)
    same_en = [e for e in entries if any(english_keys(t[0]) & keys for t in e.terms)]
    wanted = set(intro.chinese)
    for entry in same_en:  # same English and all the notebook's Chinese names
        if any(english_keys(t[0]) & keys and wanted <= set(t[1]) for t in entry.terms):
            return entry, same_en
    return None, same_en


def check(root: Path = ROOT, glossary: Path | None = None) -> Report:
    """Check the glossary against the bold terms of the notebooks in _toc.yml (see the module's docstring)."""
    glossary = glossary or root / GLOSSARY
    report = Report()
    report.intros, report.notes = introductions(root)
    report.entries = parse_glossary(glossary, root) if glossary.exists() else []
    docs = toc_docnames(root)
    rel = glossary.relative_to(root).as_posix() if glossary.is_relative_to(root) else str(glossary)

    # Every introduced term is in the glossary with the same Chinese names.
    missing: list[list[Intro]] = []
    for intro in report.intros:
        entry, same_en = _assign(intro, report.entries)
        if entry is not None:
            report.first.setdefault(id(entry), intro)
            # The bold term links to its entry: a {term} role whose target is one of the entry's term lines.
            if intro.target is None:
                report.unlinked.append((intro, term_line(intro, entry)))
            elif intro.target not in [t[2] for t in entry.terms]:
                report.bad_target.append((intro, term_line(intro, entry)))
        elif same_en:
            report.wrong_chinese.append((intro, same_en))
            if len(same_en) == 1:  # the term is there, under another Chinese name: it still counts for "first"
                report.first.setdefault(id(same_en[0]), intro)
        else:
            # Same English (up to a plural) and Chinese: one term. "bias (偏置)" and "bias (偏差)" are two.
            group = next((g for g in missing if english_keys(g[0].english) & english_keys(intro.english)
                          and set(g[0].chinese) == set(intro.chinese)), None)
            if group is None:
                missing.append([intro])
            else:
                group.append(intro)
    report.missing = [(group[0], group) for group in missing]

    # Every entry is well formed and links to the section that first introduces it.
    for entry in report.entries:
        for text, lineno in entry.bad_terms:
            report.bad_terms.append(f"{rel}:{lineno}: glossary term {text!r} is not written 'English (中文)'")
        first = report.first.get(id(entry))
        if entry.link is None:
            report.no_link.append((entry, first))
        elif entry.link not in docs or not entry.link.startswith("notebooks/"):
            where = "is not a notebook" if entry.link in docs else "is not in _toc.yml"
            report.bad_link.append(f"{rel}:{entry.line}: {entry.name}: 'First introduced in' links to "
                                   f"{entry.link!r}, which {where}")
        elif first is not None and entry.link != first.docname:
            report.not_first.append((entry, first))
    if glossary.exists():
        report.layout = letter_layout(glossary, report.entries)
    return report


def doc_link(docname: str) -> str:
    """The {doc} link to a notebook that a glossary entry's "First introduced in" uses."""
    sec = section_number(docname)
    title = f"Section {sec} <../{docname}>" if sec else f"../{docname}"
    return f"{{doc}}`{title}`"


def format_report(report: Report, rel: str = str(GLOSSARY),
                  parts: tuple[str, ...] = ("terms", "links", "roles", "notes")) -> str:
    """The problems as text; parts picks among "terms" (missing or different Chinese name, malformed
    term lines, A–Z layout), "links" ('First introduced in' missing, broken or not the first), "roles"
    (bold terms in notebooks that do not link their entry) and "notes"."""
    out: list[str] = []
    if "terms" in parts and report.missing:
        out.append(f"Key terms missing from {rel} ({len(report.missing)}), "
                   "with the section that first introduces them:")
        width = max(len(first.text) for first, _ in report.missing)
        for first, group in report.missing:
            also = f"; also bold in {len(group) - 1} later place(s)" if len(group) > 1 else ""
            others = sorted({o.text for o, _ in report.missing if o is not first
                             and english_keys(o.english) & english_keys(first.english)})
            if others:
                also += f"; the notebooks also write {', '.join(others)}: one term or two?"
            out.append(f"  {first.text:<{width}}  {first.where}{also}")
    if "terms" in parts and report.wrong_chinese:
        out.append(f"Key terms whose Chinese name differs from {rel} ({len(report.wrong_chinese)}):")
        for intro, same in report.wrong_chinese:
            there = " | ".join(t[2] for e in same for t in e.terms if english_keys(t[0]) & english_keys(intro.english))
            out.append(f"  **{intro.text}** in {intro.where}; the glossary has: {there} "
                       f"(use the same Chinese name, list both names in the entry, or add an entry of its own "
                       f"if it is another meaning)")
    if "terms" in parts and report.bad_terms:
        out.append(f"Glossary terms not written 'English (中文)' ({len(report.bad_terms)}):")
        out.extend(f"  {msg}" for msg in report.bad_terms)
    if "terms" in parts and report.layout:
        out.append(f"The A–Z layout of {rel} ({len(report.layout)}):")
        out.extend(f"  {msg}" for msg in report.layout)
    if "roles" in parts and report.unlinked:
        out.append(f"Bold terms that do not link their glossary entry ({len(report.unlinked)}); "
                   "`python tools/glossary.py --link` rewrites them:")
        for intro, target in report.unlinked:
            out.append(f"  **{intro.text}** in {intro.where}: write {role(intro.text, target)}")
    if "roles" in parts and report.bad_target:
        out.append(f"Bold term roles whose target is not their entry's term line ({len(report.bad_target)}); "
                   "`python tools/glossary.py --link` rewrites them:")
        for intro, target in report.bad_target:
            out.append(f"  {role(intro.text, intro.target or '')} in {intro.where}: write {role(intro.text, target)}")
    if "links" in parts and report.no_link:
        out.append(f"Glossary entries without 'First introduced in {{doc}}`...`' ({len(report.no_link)}):")
        for entry, first in report.no_link:
            hint = f"add: First introduced in {doc_link(first.docname)}." if first else \
                "no notebook in _toc.yml introduces it in bold yet: link the section that explains it"
            out.append(f"  {rel}:{entry.line}: {entry.name}: {hint}")
    if "links" in parts and report.bad_link:
        out.append(f"Glossary links that do not lead to a notebook of the book ({len(report.bad_link)}):")
        out.extend(f"  {msg}" for msg in report.bad_link)
    if "links" in parts and report.not_first:
        out.append(f"Glossary entries whose link is not the first introduction ({len(report.not_first)}):")
        for entry, first in report.not_first:
            out.append(f"  {rel}:{entry.line}: {entry.name}: links {entry.link}, but the term is first introduced "
                       f"in {first.where}: First introduced in {doc_link(first.docname)}.")
    if "notes" in parts and report.notes:
        out.append("Notes (not errors):")
        out.extend(f"  {note}" for note in report.notes)
    if report.ok and parts == ("terms", "links", "roles", "notes"):
        out.insert(0, f"{rel} is whole: {len(report.entries)} entries, {len(report.intros)} bold introductions "
                      f"in the notebooks, every one in the glossary, linking its entry, which links its first "
                      f"section.")
    return "\n".join(out)


def role(title: str, target: str) -> str:
    """The bold term role that shows ``title`` and links the glossary term ``target``."""
    return f"**{{term}}`{title}`**" if title == target else f"**{{term}}`{title} <{target}>`**"


# ---------------------------------------------------------------------------------------------------
# --link: rewrite bold terms into {term} roles


def _replace_in_cell(cell: dict, edits: list[tuple[int, int, str]]) -> int:
    """Apply (start, end, new text) edits to a cell's source, given as offsets into the joined source.

    A source stored as a list of lines stays a list with the same line breaks: each edit lies within
    one line (a bold term never spans lines; an edit that would is not applied). Returns the number of
    edits applied.
    """
    source = cell.get("source", "")
    pieces = source if isinstance(source, list) else [source]
    new_pieces, offset, applied = [], 0, 0
    for piece in pieces:
        end_of_piece = offset + len(piece)
        mine = [e for e in sorted(edits) if offset <= e[0] and e[1] <= end_of_piece]
        for start, end, text in reversed(mine):
            piece = piece[:start - offset] + text + piece[end - offset:]
        applied += len(mine)
        new_pieces.append(piece)
        offset = end_of_piece
    cell["source"] = new_pieces if isinstance(source, list) else new_pieces[0]
    return applied


def link_notebooks(root: Path = ROOT, glossary: Path | None = None) -> list[str]:
    """Rewrite, in the markdown cells of the notebooks in _toc.yml, every bold term that has a glossary
    entry into a {term} role that links the entry (and fix roles whose target is not the entry's term).

    Code cells, outputs and metadata are left as they are; a notebook is written back only when it
    changed, with nbformat's JSON layout (indent 1, UTF-8 kept, keys in their order, final newline).
    Running it twice changes nothing. Returns one line per rewritten notebook.
    """
    report = check(root, glossary)
    edits: dict[str, dict[int, list[tuple[int, int, str]]]] = {}
    for intro, target in report.unlinked + report.bad_target:
        if "<" in intro.text or ">" in intro.text:
            continue  # Sphinx would read the text as a target: leave it for a person to rewrite
        cells = edits.setdefault(intro.docname, {})
        cells.setdefault(intro.cell, []).append((*intro.span, role(intro.text, target)))
    changed = []
    for docname, cells in edits.items():
        path = root / f"{docname}.ipynb"
        text = path.read_text(encoding="utf-8")
        nb = json.loads(text)
        count = sum(_replace_in_cell(nb["cells"][i], cell_edits) for i, cell_edits in cells.items())
        if count:
            path.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
            changed.append(f"{docname}.ipynb: {count} bold term(s) linked to the glossary")
    return changed


def stubs(report: Report) -> str:
    """Glossary entries for the missing terms, ready to paste into the {glossary} block and complete."""
    blocks = []
    for first, _ in sorted(report.missing, key=lambda m: m[0].english.casefold()):
        # As written in the notebook: a capital there may start a sentence (fix it) or a name (keep it).
        en, zh = first.english, "，".join(first.chinese)
        blocks.append(f"{en} ({zh})\n  TODO: one- or two-sentence definition. "
                      f"First introduced in {doc_link(first.docname)}.")
    return "\n\n".join(blocks)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stub", action="store_true", help="print the missing terms as glossary entries")
    parser.add_argument("--link", action="store_true",
                        help="rewrite bold terms in notebooks' markdown cells into {term} roles linking the glossary")
    parser.add_argument("--root", type=Path, default=ROOT, help="repository root (default: this checkout)")
    args = parser.parse_args(argv)
    root = args.root.resolve()
    if args.link:
        changed = link_notebooks(root)
        print("\n".join(changed) if changed else "no bold term to link: every one links its entry already")
    report = check(root)
    if args.stub:
        print(stubs(report) if report.missing else "# nothing is missing")
    else:
        print(format_report(report))
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
