#!/usr/bin/env python3
"""check-fnlen.py [LIMIT]: no C function of the product (tests, fuzzers and
generated code aside) is longer than LIMIT lines (default 80), from its
signature to its closing brace, unless the comment just above it holds
"long:" followed by the reason. Prints each offender as `file:line name (N
lines)` and exits 1; exits 0 with a one-line summary otherwise."""
import re
import subprocess
import sys

LIMIT = int(sys.argv[1]) if len(sys.argv) > 1 else 80
# A definition starts at column 0 with a name and '(' and ends its line with '{'.
DEF = re.compile(r'^(?!(?:if|for|while|switch|do|else|return|typedef)\b)'
                 r'[A-Za-z_][\w \t\*]*?\b([A-Za-z_]\w*)\s*\(.*\)\s*\{\s*$')


def product_sources():
    out = subprocess.check_output(['git', 'ls-files', '-co', '--exclude-standard', '*.c'], text=True)
    return [f for f in out.split() if not f.startswith(('tests/', 'bench/', 'build/')) and 'node_modules' not in f]


def excused(lines, i):
    """True when the comment block right above line i says why it is long."""
    j = i - 1
    while j >= 0 and (lines[j].startswith((' *', '/*', '//')) or lines[j].rstrip().endswith('*/')):
        if 'long:' in lines[j]:
            return True
        j -= 1
    return False


def long_functions(path):
    lines = open(path, errors='replace').read().split('\n')
    i = 0
    while i < len(lines):
        m = DEF.match(lines[i])
        if not m:
            i += 1
            continue
        depth, j = 0, i
        while j < len(lines):
            depth += lines[j].count('{') - lines[j].count('}')
            if depth <= 0 and j > i:
                break
            j += 1
        n = j - i + 1
        if n > LIMIT and not excused(lines, i):
            yield i + 1, m.group(1), n
        i = j + 1


def main():
    files = product_sources()
    bad = [(f, line, name, n) for f in files for line, name, n in long_functions(f)]
    for f, line, name, n in bad:
        print('%s:%d %s (%d lines, over %d)' % (f, line, name, n, LIMIT))
    if bad:
        return 1
    print('functions: none over %d lines in %d files' % (LIMIT, len(files)))
    return 0


if __name__ == '__main__':
    sys.exit(main())
