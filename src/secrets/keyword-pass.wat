;; The keyword prefilter's pass (keywords.ts, KeywordMatcher.presentAndRuns) over one-byte text,
;; compiled by scripts/build-wasm.mjs into keyword-pass.wasm.ts. WebAssembly runs as compiled code
;; from its first byte, where the same loop in JavaScript ran unoptimised for much of a scan (a scan
;; is one process): 47 ms of the bench push's profile in JavaScript, 17 here.
;;
;; Memory: [0, 256) the DFA's column of each byte; [256, 512) 1 for each byte of a run;
;; [512, ...) the DFA's transition table (i32, a state is its row's offset); then what the caller
;; places: a window of text, and the hits and runs written back.
;;
;; A text is passed in windows; what the pass knows between them is in the globals, which the
;; caller resets before a text. Positions written back are `base` + the position in the window.
(module
  (memory (export "memory") 1)
  (global $state (export "state") (mut i32) (i32.const 0))
  (global $runStart (export "runStart") (mut i32) (i32.const -1))
  (global $runAtLine (export "runAtLine") (mut i32) (i32.const 0))
  (global $atLine (export "atLine") (mut i32) (i32.const 1))
  (global $runsEnd (export "runsEnd") (mut i32) (i32.const 0))

  ;; Step over bytes [text, text + n). At each byte after which the DFA is in a state numbered
  ;; `firstOut` or above (some keyword ends), write (position, state) at `hits`. Each maximal run of
  ;; run bytes at least `long` long, or at least `short` long and preceded on its line by blanks
  ;; only, is written as (start, end) at `runs` once a byte that is not a run byte ends it (the
  ;; caller ends a text with a line break of its own). Returns the end of the hits written; the end
  ;; of the runs is left in `runsEnd`.
  (func (export "pass")
    (param $text i32) (param $n i32) (param $base i32) (param $firstOut i32)
    (param $long i32) (param $short i32) (param $hits i32) (param $runs i32)
    (result i32)
    (local $i i32) (local $c i32) (local $s i32) (local $start i32) (local $startAtLine i32)
    (local $atLineNow i32) (local $len i32)
    (local.set $s (global.get $state))
    (local.set $start (global.get $runStart))
    (local.set $startAtLine (global.get $runAtLine))
    (local.set $atLineNow (global.get $atLine))
    (block $done
      (br_if $done (i32.eqz (local.get $n)))
      (loop $next
        (local.set $c (i32.load8_u (i32.add (local.get $text) (local.get $i))))
        (local.set $s
          (i32.load offset=512
            (i32.shl (i32.add (local.get $s) (i32.load8_u (local.get $c))) (i32.const 2))))
        (if (i32.ge_u (local.get $s) (local.get $firstOut))
          (then
            (i32.store (local.get $hits) (i32.add (local.get $base) (local.get $i)))
            (i32.store offset=4 (local.get $hits) (local.get $s))
            (local.set $hits (i32.add (local.get $hits) (i32.const 8)))))
        (if (i32.load8_u offset=256 (local.get $c))
          (then
            (if (i32.lt_s (local.get $start) (i32.const 0))
              (then
                (local.set $start (i32.add (local.get $base) (local.get $i)))
                (local.set $startAtLine (local.get $atLineNow))
                (local.set $atLineNow (i32.const 0)))))
          (else
            (if (i32.ge_s (local.get $start) (i32.const 0))
              (then
                (local.set $len (i32.sub (i32.add (local.get $base) (local.get $i)) (local.get $start)))
                (if (i32.or
                      (i32.ge_u (local.get $len) (local.get $long))
                      (i32.and (i32.ge_u (local.get $len) (local.get $short)) (local.get $startAtLine)))
                  (then
                    (i32.store (local.get $runs) (local.get $start))
                    (i32.store offset=4 (local.get $runs) (i32.add (local.get $base) (local.get $i)))
                    (local.set $runs (i32.add (local.get $runs) (i32.const 8)))))
                (local.set $start (i32.const -1))))
            (local.set $atLineNow
              (i32.or
                (i32.eq (local.get $c) (i32.const 10))
                (i32.and (local.get $atLineNow)
                  (i32.or (i32.eq (local.get $c) (i32.const 32)) (i32.eq (local.get $c) (i32.const 9))))))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br_if $next (i32.lt_u (local.get $i) (local.get $n)))))
    (global.set $state (local.get $s))
    (global.set $runStart (local.get $start))
    (global.set $runAtLine (local.get $startAtLine))
    (global.set $atLine (local.get $atLineNow))
    (global.set $runsEnd (local.get $runs))
    (local.get $hits)))
