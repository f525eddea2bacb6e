;; Runs of a diff's added (removed) lines, cut from `git log -p` output (git.ts), compiled by
;; scripts/build-wasm.mjs into added-runs.wasm.ts. A push is mostly long runs of `+` lines: this
;; steps over them and copies their text without the `+`, in one pass over the bytes, where the
;; JavaScript decoded the whole stream to a string, matched each run with a regex, sliced it and
;; dropped each `+` with a replace (three copies, all garbage by the next file).
(module
  (memory (export "memory") 1)
  (global $end (export "end") (mut i32) (i32.const 0))
  (global $lines (export "lines") (mut i32) (i32.const 0))

  ;; The lines from `at` on that start with the byte `mark` and end with a line break before
  ;; `limit`: returns where they end (after the last one's line break), and their number in
  ;; `lines`. With `out` at 0 or above, each line is copied there without its mark (with its line
  ;; break), and `end` is where the copy ends.
  (func (export "cut") (param $at i32) (param $limit i32) (param $mark i32) (param $out i32) (result i32)
    (local $p i32) (local $lines i32) (local $len i32)
    (block $done
      (loop $line
        (br_if $done (i32.ge_u (local.get $at) (local.get $limit)))
        (br_if $done (i32.ne (i32.load8_u (local.get $at)) (local.get $mark)))
        (local.set $p (i32.add (local.get $at) (i32.const 1)))
        (block $found
          (loop $scan
            ;; No line break before the limit: that line is not part of the run.
            (br_if $done (i32.ge_u (local.get $p) (local.get $limit)))
            (br_if $found (i32.eq (i32.load8_u (local.get $p)) (i32.const 10)))
            (local.set $p (i32.add (local.get $p) (i32.const 1)))
            (br $scan)))
        (if (i32.ge_s (local.get $out) (i32.const 0))
          (then
            (local.set $len (i32.sub (local.get $p) (local.get $at)))
            (memory.copy (local.get $out) (i32.add (local.get $at) (i32.const 1)) (local.get $len))
            (local.set $out (i32.add (local.get $out) (local.get $len)))))
        (local.set $lines (i32.add (local.get $lines) (i32.const 1)))
        (local.set $at (i32.add (local.get $p) (i32.const 1)))
        (br $line)))
    (global.set $end (local.get $out))
    (global.set $lines (local.get $lines))
    (local.get $at)))
