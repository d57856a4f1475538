//! The legacy exception-handling tests write `try` folded, `(try bt (do ..) (catch $t ..)
//! (catch_all ..))` or `(try bt (do ..) (delegate $l))`, which the `wast` crate no longer
//! parses. This rewrites such forms to the flat syntax it does parse (`try bt .. catch $t ..
//! catch_all .. end`, `try bt .. delegate $l`), leaving strings and comments alone. Line
//! breaks are kept, so reported line numbers stay those of the file.

#[derive(Clone, Copy, PartialEq)]
enum Open {
    Plain,
    /// A folded `try`; `true` once its `delegate` was seen (it then needs no `end`).
    Try(bool),
    /// `(do`, `(catch`, `(catch_all` or `(delegate` directly inside a folded `try`.
    Clause,
}

pub fn unfold(text: &str) -> String {
    let b = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut stack: Vec<Open> = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c == b'"' {
            let start = i;
            i += 1;
            while i < b.len() && b[i] != b'"' {
                i += if b[i] == b'\\' { 2 } else { 1 };
            }
            i = (i + 1).min(b.len());
            out.push_str(&text[start..i]);
        } else if text[i..].starts_with(";;") {
            let end = text[i..].find('\n').map_or(b.len(), |n| i + n);
            out.push_str(&text[i..end]);
            i = end;
        } else if text[i..].starts_with("(;") {
            let end = block_comment_end(text, i);
            out.push_str(&text[i..end]);
            i = end;
        } else if c == b'(' {
            let word_end = text[i + 1..]
                .find(|ch: char| ch.is_whitespace() || ch == '(' || ch == ')')
                .map_or(b.len(), |n| i + 1 + n);
            let word = &text[i + 1..word_end];
            let in_try = matches!(stack.last(), Some(Open::Try(_)));
            match word {
                "try" => {
                    stack.push(Open::Try(false));
                    out.push_str(" try");
                    i = word_end;
                }
                "do" if in_try => {
                    stack.push(Open::Clause);
                    out.push(' ');
                    i = word_end;
                }
                "catch" | "catch_all" | "delegate" if in_try => {
                    if word == "delegate" {
                        if let Some(Open::Try(d)) = stack.last_mut() {
                            *d = true;
                        }
                    }
                    stack.push(Open::Clause);
                    out.push(' ');
                    out.push_str(word);
                    i = word_end;
                }
                _ => {
                    stack.push(Open::Plain);
                    out.push('(');
                    i += 1;
                }
            }
        } else if c == b')' {
            match stack.pop() {
                Some(Open::Try(false)) => out.push_str(" end"),
                Some(Open::Try(true)) | Some(Open::Clause) => out.push(' '),
                _ => out.push(')'),
            }
            i += 1;
        } else {
            let next = text[i..]
                .find(['"', ';', '(', ')'])
                .map_or(b.len(), |n| i + n.max(1));
            out.push_str(&text[i..next]);
            i = next;
        }
    }
    out
}

fn block_comment_end(text: &str, start: usize) -> usize {
    let mut depth = 0;
    let mut i = start;
    while i < text.len() {
        if text[i..].starts_with("(;") {
            depth += 1;
            i += 2;
        } else if text[i..].starts_with(";)") {
            depth -= 1;
            i += 2;
            if depth == 0 {
                return i;
            }
        } else {
            i += text[i..].chars().next().map_or(1, char::len_utf8);
        }
    }
    text.len()
}

#[cfg(test)]
mod tests {
    use super::unfold;

    #[test]
    fn folded_try_becomes_flat() {
        let s = "(func (try $l (result i32) (do (call $f)) (catch $e (i32.const 1)) (catch_all (i32.const 2))))";
        assert_eq!(
            unfold(s).split_whitespace().collect::<Vec<_>>().join(" "),
            "(func try $l (result i32) (call $f) catch $e (i32.const 1) catch_all (i32.const 2) end)"
        );
        let d = "(try (do (throw $e)) (delegate 1)) ;; (try\n\"(try\"";
        assert_eq!(
            unfold(d).split_whitespace().collect::<Vec<_>>().join(" "),
            "try (throw $e) delegate 1 ;; (try \"(try\""
        );
    }
}
