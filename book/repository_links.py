#!/usr/bin/env python3
"""mdBook preprocessor for a book that can be read away from its repository.

Chapters link to the repository's files relatively (`../../ci/up.sh`), which
works in a checkout and in the repository's web view, but not in a copy of
the rendered book on a web server. With BOOK_REPOSITORY_URL set (e.g.
https://github.com/you/service_discovery), such links point at that
repository's hosted files instead, on BOOK_REPOSITORY_BRANCH (default main).
Images from outside the book's sources are embedded either way, so the book
carries its own figures.

Only Markdown links and images outside fenced code blocks are touched.
"""

import base64
import json
import os
import re
import sys

LINK = re.compile(r"(!?)\[([^\]]*)\]\((\.\./\.\./[^)\s#]+)(#[^)\s]*)?\)")
IMAGE_TYPES = {".svg": "image/svg+xml", ".png": "image/png"}


def fail(message):
    print(f"repository_links: {message}", file=sys.stderr)
    sys.exit(1)


def rewrite(content, source_dir, repository, url, branch):
    def replace(match):
        image, text, target, fragment = match.groups()
        path = os.path.normpath(os.path.join(source_dir, target))
        if image:
            kind = IMAGE_TYPES.get(os.path.splitext(path)[1])
            if kind is None:
                fail(f"no image type for {target}: add its extension to IMAGE_TYPES")
            try:
                with open(path, "rb") as file:
                    data = base64.b64encode(file.read()).decode("ascii")
            except OSError as error:
                fail(f"cannot embed {target}: {error}")
            return f"![{text}](data:{kind};base64,{data})"
        if not url:
            return match.group(0)
        relative = os.path.relpath(path, repository)
        if relative.startswith(".."):
            fail(f"{target} is outside the repository")
        return f"[{text}]({url}/blob/{branch}/{relative}{fragment or ''})"

    lines = []
    fence = None
    for line in content.split("\n"):
        stripped = line.lstrip()
        if fence is None and stripped.startswith(("```", "~~~")):
            fence = stripped[:3]
        elif fence is not None and stripped.startswith(fence):
            fence = None
        elif fence is None:
            line = LINK.sub(replace, line)
        lines.append(line)
    return "\n".join(lines)


def chapters(items):
    for item in items:
        if isinstance(item, dict) and "Chapter" in item:
            chapter = item["Chapter"]
            yield chapter
            yield from chapters(chapter.get("sub_items", []))


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "supports":
        sys.exit(0)
    context, book = json.load(sys.stdin)
    root = os.path.abspath(context["root"])
    source_dir = os.path.join(root, context["config"]["book"].get("src", "src"))
    # The book lives in the repository's book/ directory.
    repository = os.path.dirname(root)
    url = os.environ.get("BOOK_REPOSITORY_URL", "").rstrip("/")
    branch = os.environ.get("BOOK_REPOSITORY_BRANCH", "main")
    if url and not re.match(r"^https?://[^\s]+$", url):
        fail(f"BOOK_REPOSITORY_URL {url!r} is not an http(s) address")
    items = book.get("items", book.get("sections", []))
    for chapter in chapters(items):
        chapter_dir = os.path.dirname(os.path.join(source_dir, chapter.get("source_path") or ""))
        chapter["content"] = rewrite(chapter["content"], chapter_dir, repository, url, branch)
    json.dump(book, sys.stdout)


if __name__ == "__main__":
    main()
