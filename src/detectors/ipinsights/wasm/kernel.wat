;; IP Insights training kernel, WebAssembly with 128-bit SIMD (f32x4). Assembled by scripts/build-wasm.ts
;; (npm run build:wasm, run by `npm run build` and `prepare`) into kernel.wasm beside this file.
;;
;; The arithmetic of one sgd mini-batch without dense layers (kernel.ts Kernel.batch is the reference, and
;; wasm/kernel-wasm.ts documents the split): JavaScript draws every random choice of the batch in the reference's
;; order and writes them as a plan (pool rows, shuffled partners, negative pool members and entities, sibling
;; rows); `batch` runs the records in the reference's order over the shared tables. d must be a multiple of 4.
;; Rows are d * 4 bytes, 64-byte aligned (train.ts lays the tables out), so a row is whole cache lines.
;;
;; Control block (i32 slots at ctl + 4 * i; f32 slots likewise): see CTL_* in kernel-wasm.ts.
(module
  (import "env" "memory" (memory 1 65536 shared))
  (import "math" "exp" (func $exp (param f64) (result f64)))
  (import "math" "log1p" (func $log1p (param f64) (result f64)))

  (global $loss (mut f64) (f64.const 0))
  (global $correct (mut i32) (i32.const 0))
  (global $records (mut i32) (i32.const 0))
  ;; keeps the prefetch loads observable
  (global $sink (mut f32) (f32.const 0))

  (func (export "loss") (result f64) (global.get $loss))
  (func (export "correct") (result i32) (global.get $correct))
  (func (export "records") (result i32) (global.get $records))
  (func (export "sink") (result f32) (global.get $sink))

  ;; Horizontal sum of the four lanes, in float64.
  (func $hsum (param $v v128) (result f64)
    (f64.add
      (f64.add (f64.promote_f32 (f32x4.extract_lane 0 (local.get $v))) (f64.promote_f32 (f32x4.extract_lane 1 (local.get $v))))
      (f64.add (f64.promote_f32 (f32x4.extract_lane 2 (local.get $v))) (f64.promote_f32 (f32x4.extract_lane 3 (local.get $v))))))

  ;; out[0..d) = sum of the k rows P[rows[j]] (+ bias when bias != 0), in the reference's order.
  (func $encode (param $rows i32) (param $out i32) (param $P i32) (param $d4 i32) (param $k i32) (param $bias i32)
    (local $src i32) (local $i i32) (local $j i32)
    (local.set $src (i32.add (local.get $P) (i32.mul (i32.load (local.get $rows)) (local.get $d4))))
    (local.set $i (i32.const 0))
    (loop $copy
      (v128.store (i32.add (local.get $out) (local.get $i)) (v128.load (i32.add (local.get $src) (local.get $i))))
      (br_if $copy (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 16))) (local.get $d4))))
    (local.set $j (i32.const 1))
    (block $done
      (loop $rowsLoop
        (br_if $done (i32.ge_u (local.get $j) (local.get $k)))
        (local.set $src (i32.add (local.get $P)
          (i32.mul (i32.load (i32.add (local.get $rows) (i32.shl (local.get $j) (i32.const 2)))) (local.get $d4))))
        (local.set $i (i32.const 0))
        (loop $add
          (v128.store (i32.add (local.get $out) (local.get $i))
            (f32x4.add (v128.load (i32.add (local.get $out) (local.get $i))) (v128.load (i32.add (local.get $src) (local.get $i)))))
          (br_if $add (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 16))) (local.get $d4))))
        (local.set $j (i32.add (local.get $j) (i32.const 1)))
        (br $rowsLoop)))
    (if (local.get $bias)
      (then
        (local.set $i (i32.const 0))
        (loop $b
          (v128.store (i32.add (local.get $out) (local.get $i))
            (f32x4.add (v128.load (i32.add (local.get $out) (local.get $i))) (v128.load (i32.add (local.get $bias) (local.get $i)))))
          (br_if $b (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 16))) (local.get $d4)))))))

  ;; Load one float of every cache line of the k rows P[rows[j]] (a software prefetch: the misses overlap).
  (func $touch (param $rows i32) (param $P i32) (param $d4 i32) (param $k i32)
    (local $src i32) (local $i i32) (local $j i32) (local $acc f32)
    (block $done
      (loop $rowsLoop
        (br_if $done (i32.ge_u (local.get $j) (local.get $k)))
        (local.set $src (i32.add (local.get $P)
          (i32.mul (i32.load (i32.add (local.get $rows) (i32.shl (local.get $j) (i32.const 2)))) (local.get $d4))))
        (local.set $i (i32.const 0))
        (loop $line
          (local.set $acc (f32.add (local.get $acc) (f32.load (i32.add (local.get $src) (local.get $i)))))
          (br_if $line (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 64))) (local.get $d4))))
        (local.set $j (i32.add (local.get $j) (i32.const 1)))
        (br $rowsLoop)))
    (global.set $sink (f32.add (global.get $sink) (local.get $acc))))

  ;; (E[e] + G) . h
  (func $dotEG (param $e i32) (param $G i32) (param $h i32) (param $d4 i32) (result f64)
    (local $i i32) (local $acc v128)
    (loop $l
      (local.set $acc (f32x4.add (local.get $acc)
        (f32x4.mul
          (f32x4.add (v128.load (i32.add (local.get $e) (local.get $i))) (v128.load (i32.add (local.get $G) (local.get $i))))
          (v128.load (i32.add (local.get $h) (local.get $i))))))
      (br_if $l (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 16))) (local.get $d4))))
    (call $hsum (local.get $acc)))

  ;; (E[e] + G) . (P[a] - P[b])
  (func $dotEGdiff (param $e i32) (param $G i32) (param $a i32) (param $b i32) (param $d4 i32) (result f64)
    (local $i i32) (local $acc v128)
    (loop $l
      (local.set $acc (f32x4.add (local.get $acc)
        (f32x4.mul
          (f32x4.add (v128.load (i32.add (local.get $e) (local.get $i))) (v128.load (i32.add (local.get $G) (local.get $i))))
          (f32x4.sub (v128.load (i32.add (local.get $a) (local.get $i))) (v128.load (i32.add (local.get $b) (local.get $i)))))))
      (br_if $l (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 16))) (local.get $d4))))
    (call $hsum (local.get $acc)))

  ;; Logistic loss of a negative record (label 0) with score sc: adds loss, correct, records; returns dloss/dsc.
  (func $negative (param $sc f64) (result f64)
    (local $ex f64)
    (local.set $ex (call $exp (f64.neg (f64.abs (local.get $sc)))))
    (global.set $loss (f64.add (global.get $loss)
      (f64.add (f64.max (local.get $sc) (f64.const 0)) (call $log1p (local.get $ex)))))
    (if (f64.lt (local.get $sc) (f64.const 0)) (then (global.set $correct (i32.add (global.get $correct) (i32.const 1)))))
    (global.set $records (i32.add (global.get $records) (i32.const 1)))
    (if (result f64) (f64.ge (local.get $sc) (f64.const 0))
      (then (f64.div (f64.const 1) (f64.add (f64.const 1) (local.get $ex))))
      (else (f64.div (local.get $ex) (f64.add (f64.const 1) (local.get $ex))))))

  ;; A positive record (label 1): returns sigmoid(sc) - 1.
  (func $positive (param $sc f64) (result f64)
    (local $ex f64)
    (local.set $ex (call $exp (f64.neg (f64.abs (local.get $sc)))))
    (global.set $loss (f64.add (global.get $loss)
      (f64.add (f64.max (f64.neg (local.get $sc)) (f64.const 0)) (call $log1p (local.get $ex)))))
    (if (f64.gt (local.get $sc) (f64.const 0)) (then (global.set $correct (i32.add (global.get $correct) (i32.const 1)))))
    (global.set $records (i32.add (global.get $records) (i32.const 1)))
    (f64.sub
      (if (result f64) (f64.ge (local.get $sc) (f64.const 0))
        (then (f64.div (f64.const 1) (f64.add (f64.const 1) (local.get $ex))))
        (else (f64.div (local.get $ex) (f64.add (f64.const 1) (local.get $ex)))))
      (f64.const 1)))

  ;; A sibling ranking record with margin mg: loss log(1 + e^-mg); returns -dloss/dmg = sigmoid(-mg).
  (func $sibling (param $mg f64) (result f64)
    (local $ex f64)
    (local.set $ex (call $exp (f64.neg (f64.abs (local.get $mg)))))
    (global.set $loss (f64.add (global.get $loss)
      (f64.add (f64.max (f64.neg (local.get $mg)) (f64.const 0)) (call $log1p (local.get $ex)))))
    (if (f64.gt (local.get $mg) (f64.const 0)) (then (global.set $correct (i32.add (global.get $correct) (i32.const 1)))))
    (global.set $records (i32.add (global.get $records) (i32.const 1)))
    (if (result f64) (f64.ge (local.get $mg) (f64.const 0))
      (then (f64.div (local.get $ex) (f64.add (f64.const 1) (local.get $ex))))
      (else (f64.div (f64.const 1) (f64.add (f64.const 1) (local.get $ex))))))

  ;; An entity step of one record: acc += g (E[e] + G); gh = g h; E[e] = E[e] decay - lr gh; gG += gh.
  ;; Returns |E[e]|^2 after the step.
  (func $stepEntity (param $e i32) (param $G i32) (param $h i32) (param $acc i32) (param $gG i32) (param $d4 i32)
      (param $g f32) (param $lr f32) (param $decay f32) (result f64)
    (local $i i32) (local $vg v128) (local $vlr v128) (local $vdec v128) (local $old v128) (local $gh v128) (local $v v128) (local $nn v128)
    (local.set $vg (f32x4.splat (local.get $g)))
    (local.set $vlr (f32x4.splat (local.get $lr)))
    (local.set $vdec (f32x4.splat (local.get $decay)))
    (loop $l
      (local.set $old (v128.load (i32.add (local.get $e) (local.get $i))))
      (v128.store (i32.add (local.get $acc) (local.get $i))
        (f32x4.add (v128.load (i32.add (local.get $acc) (local.get $i)))
          (f32x4.mul (local.get $vg) (f32x4.add (local.get $old) (v128.load (i32.add (local.get $G) (local.get $i)))))))
      (local.set $gh (f32x4.mul (local.get $vg) (v128.load (i32.add (local.get $h) (local.get $i)))))
      (local.set $v (f32x4.sub (f32x4.mul (local.get $old) (local.get $vdec)) (f32x4.mul (local.get $vlr) (local.get $gh))))
      (v128.store (i32.add (local.get $e) (local.get $i)) (local.get $v))
      (local.set $nn (f32x4.add (local.get $nn) (f32x4.mul (local.get $v) (local.get $v))))
      (v128.store (i32.add (local.get $gG) (local.get $i))
        (f32x4.add (v128.load (i32.add (local.get $gG) (local.get $i))) (local.get $gh)))
      (br_if $l (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 16))) (local.get $d4))))
    (call $hsum (local.get $nn)))

  ;; The positive's own record: ge = g h; gacc += g (E[e] + G)   (set = 1)
  ;; or one of its batch-entity negatives: ge += g h; gacc += g (E[e] + G)   (set = 0).
  (func $accumulate (param $e i32) (param $G i32) (param $h i32) (param $gacc i32) (param $ge i32) (param $d4 i32)
      (param $g f32) (param $set i32)
    (local $i i32) (local $vg v128) (local $gh v128)
    (local.set $vg (f32x4.splat (local.get $g)))
    (loop $l
      (local.set $gh (f32x4.mul (local.get $vg) (v128.load (i32.add (local.get $h) (local.get $i)))))
      (v128.store (i32.add (local.get $ge) (local.get $i))
        (if (result v128) (local.get $set)
          (then (local.get $gh))
          (else (f32x4.add (v128.load (i32.add (local.get $ge) (local.get $i))) (local.get $gh)))))
      (v128.store (i32.add (local.get $gacc) (local.get $i))
        (f32x4.add (v128.load (i32.add (local.get $gacc) (local.get $i)))
          (f32x4.mul (local.get $vg)
            (f32x4.add (v128.load (i32.add (local.get $e) (local.get $i))) (v128.load (i32.add (local.get $G) (local.get $i)))))))
      (br_if $l (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 16))) (local.get $d4))))
  )

  ;; E[e] = E[e] decay - lr ge; gG += ge. Returns |E[e]|^2 after the step.
  (func $applyEntity (param $e i32) (param $ge i32) (param $gG i32) (param $d4 i32) (param $lr f32) (param $decay f32) (result f64)
    (local $i i32) (local $vlr v128) (local $vdec v128) (local $g v128) (local $v v128) (local $nn v128)
    (local.set $vlr (f32x4.splat (local.get $lr)))
    (local.set $vdec (f32x4.splat (local.get $decay)))
    (loop $l
      (local.set $g (v128.load (i32.add (local.get $ge) (local.get $i))))
      (local.set $v (f32x4.sub (f32x4.mul (v128.load (i32.add (local.get $e) (local.get $i))) (local.get $vdec))
        (f32x4.mul (local.get $vlr) (local.get $g))))
      (v128.store (i32.add (local.get $e) (local.get $i)) (local.get $v))
      (local.set $nn (f32x4.add (local.get $nn) (f32x4.mul (local.get $v) (local.get $v))))
      (v128.store (i32.add (local.get $gG) (local.get $i)) (f32x4.add (v128.load (i32.add (local.get $gG) (local.get $i))) (local.get $g)))
      (br_if $l (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 16))) (local.get $d4))))
    (call $hsum (local.get $nn)))

  ;; Scale row e (squared norm nn) back to norm maxNorm.
  (func $clip (param $e i32) (param $d4 i32) (param $nn f64) (param $maxNorm f64)
    (local $i i32) (local $f v128)
    (local.set $f (f32x4.splat (f32.demote_f64 (f64.div (local.get $maxNorm) (f64.sqrt (local.get $nn))))))
    (loop $l
      (v128.store (i32.add (local.get $e) (local.get $i)) (f32x4.mul (v128.load (i32.add (local.get $e) (local.get $i))) (local.get $f)))
      (br_if $l (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 16))) (local.get $d4)))))

  ;; Sibling step: gi = g (E[e] + G); P[a] = P[a] decay + lr gi; P[b] = P[b] decay - lr gi.
  (func $stepSibling (param $e i32) (param $G i32) (param $a i32) (param $b i32) (param $d4 i32) (param $g f32) (param $lr f32) (param $decay f32)
    (local $i i32) (local $vg v128) (local $vlr v128) (local $vdec v128) (local $gi v128)
    (local.set $vg (f32x4.splat (local.get $g)))
    (local.set $vlr (f32x4.splat (local.get $lr)))
    (local.set $vdec (f32x4.splat (local.get $decay)))
    (loop $l
      (local.set $gi (f32x4.mul (local.get $vlr) (f32x4.mul (local.get $vg)
        (f32x4.add (v128.load (i32.add (local.get $e) (local.get $i))) (v128.load (i32.add (local.get $G) (local.get $i)))))))
      (v128.store (i32.add (local.get $a) (local.get $i))
        (f32x4.add (f32x4.mul (v128.load (i32.add (local.get $a) (local.get $i))) (local.get $vdec)) (local.get $gi)))
      (v128.store (i32.add (local.get $b) (local.get $i))
        (f32x4.sub (f32x4.mul (v128.load (i32.add (local.get $b) (local.get $i))) (local.get $vdec)) (local.get $gi)))
      (br_if $l (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 16))) (local.get $d4)))))

  ;; IP side of one address: biasGrad += g (when biasGrad != 0); P[rows[j]] = P[rows[j]] decay - lr g for its k rows.
  (func $applyIp (param $rows i32) (param $g i32) (param $P i32) (param $d4 i32) (param $k i32) (param $lr f32) (param $decay f32) (param $biasGrad i32)
    (local $i i32) (local $j i32) (local $dst i32) (local $vlr v128) (local $vdec v128)
    (local.set $vlr (f32x4.splat (local.get $lr)))
    (local.set $vdec (f32x4.splat (local.get $decay)))
    (if (local.get $biasGrad)
      (then
        (loop $b
          (v128.store (i32.add (local.get $biasGrad) (local.get $i))
            (f32x4.add (v128.load (i32.add (local.get $biasGrad) (local.get $i))) (v128.load (i32.add (local.get $g) (local.get $i)))))
          (br_if $b (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 16))) (local.get $d4))))))
    (block $done
      (loop $rowsLoop
        (br_if $done (i32.ge_u (local.get $j) (local.get $k)))
        (local.set $dst (i32.add (local.get $P)
          (i32.mul (i32.load (i32.add (local.get $rows) (i32.shl (local.get $j) (i32.const 2)))) (local.get $d4))))
        (local.set $i (i32.const 0))
        (loop $l
          (v128.store (i32.add (local.get $dst) (local.get $i))
            (f32x4.sub (f32x4.mul (v128.load (i32.add (local.get $dst) (local.get $i))) (local.get $vdec))
              (f32x4.mul (local.get $vlr) (v128.load (i32.add (local.get $g) (local.get $i))))))
          (br_if $l (i32.lt_u (local.tee $i (i32.add (local.get $i) (i32.const 16))) (local.get $d4))))
        (local.set $j (i32.add (local.get $j) (i32.const 1)))
        (br $rowsLoop))))

  ;; One mini-batch; ctl is the control block. Leaves loss / correct / records in the globals.
  (func (export "batch") (param $ctl i32)
    (local $E i32) (local $G i32) (local $P i32) (local $bias i32) (local $rows i32) (local $order i32) (local $entRow i32)
    (local $hPos i32) (local $gPos i32) (local $poolRows i32) (local $hPool i32) (local $gPool i32)
    (local $shuf i32) (local $negPool i32) (local $negEnt i32) (local $sibCount i32) (local $sibRows i32)
    (local $ge i32) (local $gG i32) (local $biasGrad i32)
    (local $d4 i32) (local $k i32) (local $m i32) (local $M i32) (local $S i32) (local $R i32) (local $uniform i32) (local $start i32)
    (local $lr f32) (local $decay f32) (local $maxNorm f64) (local $maxNorm2 f64)
    (local $b i32) (local $b2 i32) (local $s i32) (local $r i32) (local $q i32) (local $j i32) (local $p i32) (local $kb i32)
    (local $e i32) (local $u i32) (local $po i32) (local $sc f64) (local $g f64) (local $nn f64)
    (local $sib i32) (local $sibPtr i32) (local $last i32) (local $rr i32)
    (local.set $E (i32.load offset=0 (local.get $ctl)))
    (local.set $G (i32.load offset=4 (local.get $ctl)))
    (local.set $P (i32.load offset=8 (local.get $ctl)))
    (local.set $bias (i32.load offset=12 (local.get $ctl)))
    (local.set $rows (i32.load offset=16 (local.get $ctl)))
    (local.set $order (i32.load offset=20 (local.get $ctl)))
    (local.set $entRow (i32.load offset=24 (local.get $ctl)))
    (local.set $hPos (i32.load offset=28 (local.get $ctl)))
    (local.set $gPos (i32.load offset=32 (local.get $ctl)))
    (local.set $poolRows (i32.load offset=36 (local.get $ctl)))
    (local.set $hPool (i32.load offset=40 (local.get $ctl)))
    (local.set $gPool (i32.load offset=44 (local.get $ctl)))
    (local.set $shuf (i32.load offset=48 (local.get $ctl)))
    (local.set $negPool (i32.load offset=52 (local.get $ctl)))
    (local.set $negEnt (i32.load offset=56 (local.get $ctl)))
    (local.set $sibCount (i32.load offset=60 (local.get $ctl)))
    (local.set $sibRows (i32.load offset=64 (local.get $ctl)))
    (local.set $ge (i32.load offset=68 (local.get $ctl)))
    (local.set $gG (i32.load offset=72 (local.get $ctl)))
    (local.set $biasGrad (i32.load offset=76 (local.get $ctl)))
    (local.set $d4 (i32.shl (i32.load offset=80 (local.get $ctl)) (i32.const 2)))
    (local.set $k (i32.load offset=84 (local.get $ctl)))
    (local.set $m (i32.load offset=88 (local.get $ctl)))
    (local.set $M (i32.load offset=92 (local.get $ctl)))
    (local.set $S (i32.load offset=96 (local.get $ctl)))
    (local.set $R (i32.load offset=100 (local.get $ctl)))
    (local.set $uniform (i32.load offset=104 (local.get $ctl)))
    (local.set $start (i32.load offset=108 (local.get $ctl)))
    (local.set $lr (f32.load offset=112 (local.get $ctl)))
    (local.set $decay (f32.load offset=116 (local.get $ctl)))
    (local.set $maxNorm (f64.load offset=120 (local.get $ctl)))
    (local.set $maxNorm2 (f64.mul (local.get $maxNorm) (local.get $maxNorm)))
    (if (f64.le (local.get $maxNorm) (f64.const 0)) (then (local.set $maxNorm2 (f64.const inf))))
    (local.set $kb (i32.shl (local.get $k) (i32.const 2)))
    (global.set $loss (f64.const 0))
    (global.set $correct (i32.const 0))
    (global.set $records (i32.const 0))

    ;; Encode the positives (touching the rows PREFETCH = 4 positives ahead) and the pool.
    (local.set $b (i32.const 0))
    (block $done
      (loop $l
        (br_if $done (i32.ge_u (local.get $b) (local.get $m)))
        (if (i32.lt_u (i32.add (local.get $b) (i32.const 4)) (local.get $m))
          (then
            (local.set $p (i32.load (i32.add (local.get $order) (i32.shl (i32.add (i32.add (local.get $start) (local.get $b)) (i32.const 4)) (i32.const 2)))))
            (call $touch (i32.add (local.get $rows) (i32.mul (local.get $p) (local.get $kb))) (local.get $P) (local.get $d4) (local.get $k))
            (global.set $sink (f32.add (global.get $sink)
              (f32.load (i32.add (local.get $E) (i32.mul (i32.load (i32.add (local.get $entRow) (i32.shl (local.get $p) (i32.const 2)))) (local.get $d4))))))))
        (local.set $p (i32.load (i32.add (local.get $order) (i32.shl (i32.add (local.get $start) (local.get $b)) (i32.const 2)))))
        (call $encode (i32.add (local.get $rows) (i32.mul (local.get $p) (local.get $kb)))
          (i32.add (local.get $hPos) (i32.mul (local.get $b) (local.get $d4))) (local.get $P) (local.get $d4) (local.get $k) (local.get $bias))
        (local.set $b (i32.add (local.get $b) (i32.const 1)))
        (br $l)))
    (memory.fill (local.get $gPos) (i32.const 0) (i32.mul (local.get $m) (local.get $d4)))
    (local.set $j (i32.const 0))
    (block $done
      (loop $l
        (br_if $done (i32.ge_u (local.get $j) (local.get $M)))
        (if (i32.lt_u (i32.add (local.get $j) (i32.const 4)) (local.get $M))
          (then (call $touch (i32.add (local.get $poolRows) (i32.mul (i32.add (local.get $j) (i32.const 4)) (local.get $kb)))
            (local.get $P) (local.get $d4) (local.get $k))))
        (call $encode (i32.add (local.get $poolRows) (i32.mul (local.get $j) (local.get $kb)))
          (i32.add (local.get $hPool) (i32.mul (local.get $j) (local.get $d4))) (local.get $P) (local.get $d4) (local.get $k) (local.get $bias))
        (local.set $j (i32.add (local.get $j) (i32.const 1)))
        (br $l)))
    (memory.fill (local.get $gPool) (i32.const 0) (i32.mul (local.get $M) (local.get $d4)))

    ;; Shuffled negatives: shuf[s * m + b] is the partner b2, or -1 when the re-pairing is a training pair.
    (local.set $s (i32.const 0))
    (block $sDone
      (loop $sLoop
        (br_if $sDone (i32.ge_u (local.get $s) (local.get $S)))
        (local.set $b (i32.const 0))
        (block $bDone
          (loop $bLoop
            (br_if $bDone (i32.ge_u (local.get $b) (local.get $m)))
            (local.set $b2 (i32.load (i32.add (local.get $shuf) (i32.shl (i32.add (i32.mul (local.get $s) (local.get $m)) (local.get $b)) (i32.const 2)))))
            (if (i32.ge_s (local.get $b2) (i32.const 0))
              (then
                (local.set $p (i32.load (i32.add (local.get $order) (i32.shl (i32.add (local.get $start) (local.get $b)) (i32.const 2)))))
                (local.set $e (i32.add (local.get $E)
                  (i32.mul (i32.load (i32.add (local.get $entRow) (i32.shl (local.get $p) (i32.const 2)))) (local.get $d4))))
                (local.set $g (call $negative (call $dotEG (local.get $e) (local.get $G)
                  (i32.add (local.get $hPos) (i32.mul (local.get $b2) (local.get $d4))) (local.get $d4))))
                (local.set $nn (call $stepEntity (local.get $e) (local.get $G)
                  (i32.add (local.get $hPos) (i32.mul (local.get $b2) (local.get $d4)))
                  (i32.add (local.get $gPos) (i32.mul (local.get $b2) (local.get $d4)))
                  (local.get $gG) (local.get $d4) (f32.demote_f64 (local.get $g)) (local.get $lr) (local.get $decay)))
                (if (f64.gt (local.get $nn) (local.get $maxNorm2))
                  (then (call $clip (local.get $e) (local.get $d4) (local.get $nn) (local.get $maxNorm))))))
            (local.set $b (i32.add (local.get $b) (i32.const 1)))
            (br $bLoop)))
        (local.set $s (i32.add (local.get $s) (i32.const 1)))
        (br $sLoop)))

    ;; Positives, their random negatives and their sibling negatives.
    (local.set $sibPtr (local.get $sibRows))
    (local.set $b (i32.const 0))
    (block $bDone
      (loop $bLoop
        (br_if $bDone (i32.ge_u (local.get $b) (local.get $m)))
        (local.set $p (i32.load (i32.add (local.get $order) (i32.shl (i32.add (local.get $start) (local.get $b)) (i32.const 2)))))
        (local.set $e (i32.add (local.get $E)
          (i32.mul (i32.load (i32.add (local.get $entRow) (i32.shl (local.get $p) (i32.const 2)))) (local.get $d4))))
        (local.set $g (call $positive (call $dotEG (local.get $e) (local.get $G)
          (i32.add (local.get $hPos) (i32.mul (local.get $b) (local.get $d4))) (local.get $d4))))
        (call $accumulate (local.get $e) (local.get $G)
          (i32.add (local.get $hPos) (i32.mul (local.get $b) (local.get $d4)))
          (i32.add (local.get $gPos) (i32.mul (local.get $b) (local.get $d4)))
          (local.get $ge) (local.get $d4) (f32.demote_f64 (local.get $g)) (i32.const 1))
        ;; Touch the next positive's random-negative entity rows (uniform: random rows of the entity table).
        (if (i32.and (local.get $uniform) (i32.lt_u (i32.add (local.get $b) (i32.const 1)) (local.get $m)))
          (then
            (local.set $r (i32.const 0))
            (block $tDone
              (loop $tLoop
                (br_if $tDone (i32.ge_u (local.get $r) (local.get $R)))
                (global.set $sink (f32.add (global.get $sink) (f32.load (i32.add (local.get $E) (i32.mul (local.get $d4)
                  (i32.load (i32.add (local.get $negEnt)
                    (i32.shl (i32.add (i32.mul (i32.add (local.get $b) (i32.const 1)) (local.get $R)) (local.get $r)) (i32.const 2)))))))))
                (local.set $r (i32.add (local.get $r) (i32.const 1)))
                (br $tLoop)))))
        (local.set $r (i32.const 0))
        (block $rDone
          (loop $rLoop
            (br_if $rDone (i32.ge_u (local.get $r) (local.get $R)))
            (local.set $j (i32.add (i32.mul (local.get $b) (local.get $R)) (local.get $r)))
            (local.set $po (i32.mul (i32.load (i32.add (local.get $negPool) (i32.shl (local.get $j) (i32.const 2)))) (local.get $d4)))
            (if (local.get $uniform)
              (then
                (local.set $u (i32.add (local.get $E)
                  (i32.mul (i32.load (i32.add (local.get $negEnt) (i32.shl (local.get $j) (i32.const 2)))) (local.get $d4))))
                (local.set $g (call $negative (call $dotEG (local.get $u) (local.get $G) (i32.add (local.get $hPool) (local.get $po)) (local.get $d4))))
                (local.set $nn (call $stepEntity (local.get $u) (local.get $G)
                  (i32.add (local.get $hPool) (local.get $po)) (i32.add (local.get $gPool) (local.get $po))
                  (local.get $gG) (local.get $d4) (f32.demote_f64 (local.get $g)) (local.get $lr) (local.get $decay)))
                (if (f64.gt (local.get $nn) (local.get $maxNorm2))
                  (then (call $clip (local.get $u) (local.get $d4) (local.get $nn) (local.get $maxNorm)))))
              (else
                (local.set $g (call $negative (call $dotEG (local.get $e) (local.get $G) (i32.add (local.get $hPool) (local.get $po)) (local.get $d4))))
                (call $accumulate (local.get $e) (local.get $G)
                  (i32.add (local.get $hPool) (local.get $po)) (i32.add (local.get $gPool) (local.get $po))
                  (local.get $ge) (local.get $d4) (f32.demote_f64 (local.get $g)) (i32.const 0))))
            (local.set $r (i32.add (local.get $r) (i32.const 1)))
            (br $rLoop)))
        ;; Siblings: the positive's last (full-address) row against uniformly random rows (rr == last: skipped).
        (if (local.get $sibCount)
          (then
            (local.set $sib (i32.load (i32.add (local.get $sibCount) (i32.shl (local.get $b) (i32.const 2)))))
            (local.set $last (i32.load (i32.add (local.get $rows)
              (i32.add (i32.mul (local.get $p) (local.get $kb)) (i32.shl (i32.sub (local.get $k) (i32.const 1)) (i32.const 2))))))
            (local.set $q (i32.const 0))
            (block $qDone
              (loop $qLoop
                (br_if $qDone (i32.ge_u (local.get $q) (local.get $sib)))
                (local.set $rr (i32.load (local.get $sibPtr)))
                (local.set $sibPtr (i32.add (local.get $sibPtr) (i32.const 4)))
                (if (i32.ne (local.get $rr) (local.get $last))
                  (then
                    (local.set $g (call $sibling (call $dotEGdiff (local.get $e) (local.get $G)
                      (i32.add (local.get $P) (i32.mul (local.get $last) (local.get $d4)))
                      (i32.add (local.get $P) (i32.mul (local.get $rr) (local.get $d4))) (local.get $d4))))
                    (call $stepSibling (local.get $e) (local.get $G)
                      (i32.add (local.get $P) (i32.mul (local.get $last) (local.get $d4)))
                      (i32.add (local.get $P) (i32.mul (local.get $rr) (local.get $d4)))
                      (local.get $d4) (f32.demote_f64 (local.get $g)) (local.get $lr) (local.get $decay))))
                (local.set $q (i32.add (local.get $q) (i32.const 1)))
                (br $qLoop)))))
        (local.set $nn (call $applyEntity (local.get $e) (local.get $ge) (local.get $gG) (local.get $d4) (local.get $lr) (local.get $decay)))
        (if (f64.gt (local.get $nn) (local.get $maxNorm2))
          (then (call $clip (local.get $e) (local.get $d4) (local.get $nn) (local.get $maxNorm))))
        (local.set $b (i32.add (local.get $b) (i32.const 1)))
        (br $bLoop)))

    ;; IP side: the positives' and the pool's prefix rows, once per batch.
    (local.set $b (i32.const 0))
    (block $done
      (loop $l
        (br_if $done (i32.ge_u (local.get $b) (local.get $m)))
        (if (i32.lt_u (i32.add (local.get $b) (i32.const 4)) (local.get $m))
          (then
            (local.set $p (i32.load (i32.add (local.get $order) (i32.shl (i32.add (i32.add (local.get $start) (local.get $b)) (i32.const 4)) (i32.const 2)))))
            (call $touch (i32.add (local.get $rows) (i32.mul (local.get $p) (local.get $kb))) (local.get $P) (local.get $d4) (local.get $k))))
        (local.set $p (i32.load (i32.add (local.get $order) (i32.shl (i32.add (local.get $start) (local.get $b)) (i32.const 2)))))
        (call $applyIp (i32.add (local.get $rows) (i32.mul (local.get $p) (local.get $kb)))
          (i32.add (local.get $gPos) (i32.mul (local.get $b) (local.get $d4)))
          (local.get $P) (local.get $d4) (local.get $k) (local.get $lr) (local.get $decay) (local.get $biasGrad))
        (local.set $b (i32.add (local.get $b) (i32.const 1)))
        (br $l)))
    (local.set $j (i32.const 0))
    (block $done
      (loop $l
        (br_if $done (i32.ge_u (local.get $j) (local.get $M)))
        (if (i32.lt_u (i32.add (local.get $j) (i32.const 4)) (local.get $M))
          (then (call $touch (i32.add (local.get $poolRows) (i32.mul (i32.add (local.get $j) (i32.const 4)) (local.get $kb)))
            (local.get $P) (local.get $d4) (local.get $k))))
        (call $applyIp (i32.add (local.get $poolRows) (i32.mul (local.get $j) (local.get $kb)))
          (i32.add (local.get $gPool) (i32.mul (local.get $j) (local.get $d4)))
          (local.get $P) (local.get $d4) (local.get $k) (local.get $lr) (local.get $decay) (local.get $biasGrad))
        (local.set $j (i32.add (local.get $j) (i32.const 1)))
        (br $l))))
)
