#!/usr/bin/env bash
# SIGKILL while a checkpoint is being written, at each of the three moments that matter
# (ASR_FAULT_INJECT, include/asr/util/fault_injection.h): state.h5 written but not the rest; the
# temporary folder complete but not renamed; the step folder renamed but `latest` not updated.
# Each time the previous checkpoint must stay intact and named by `latest`, `resume: auto` must
# continue from it, and the resumed run's adapter must equal an uninterrupted run's bit for bit.
# Then an injected I/O error (eio) at the first moment: a clean error instead of a crash.
#   kill_during_checkpoint.sh ASR_ADAPT_BINARY SOURCE_DIR [MPIEXEC (unused)]
set -euo pipefail
source "$2/tests/e2e/faults/lib.sh"
fault_setup "$1" "$2"
STEPS=15
shard_fixture shards
write_experiment ref.yaml ref shards $STEPS 5
timeout 120 "$BIN" train ref.yaml > ref.log 2>&1 || { cat ref.log; fail "the reference run failed"; }

for point in after_state_written before_rename before_latest; do
  run=run_$point
  ck=$run/checkpoints
  write_experiment $point.yaml $run shards $STEPS 5
  # The second checkpoint (step 10) is the one interrupted; step 5's is the previous one.
  status=0
  ASR_FAULT_INJECT=checkpoint.$point:kill@2 timeout 120 "$BIN" train $point.yaml > $point.1.log 2>&1 || status=$?
  [ "$status" -eq 137 ] || { cat $point.1.log; fail "$point: expected death by SIGKILL (137), got $status"; }
  grep -q "fault injection active" $point.1.log || fail "$point: the run did not report the injected fault"
  [ "$(cat $ck/latest)" = step-00000005 ] || fail "$point: latest is '$(cat $ck/latest)', not step-00000005"
  for f in state.h5 adapters.h5 config.yaml; do [ -s $ck/step-00000005/$f ] || fail "$point: step-00000005/$f missing"; done
  h5dump -a /step $ck/step-00000005/state.h5 | grep -q "(0): 5" || fail "$point: step-00000005/state.h5 unreadable"
  case $point in
    before_latest)  # complete but unpublished: it is simply written again by the resumed run
      [ -s $ck/step-00000010/state.h5 ] || fail "$point: step-00000010 should exist (renamed before the kill)" ;;
    *)
      [ ! -e $ck/step-00000010 ] || fail "$point: a step-00000010 folder exists after a kill before its rename"
      ls -d $ck/.tmp-step-00000010-* > /dev/null 2>&1 || fail "$point: expected the killed writer's temporary folder" ;;
  esac
  cp $ck/step-00000005/state.h5 state_before.h5

  timeout 120 "$BIN" train $point.yaml > $point.2.log 2>&1 || { cat $point.2.log; fail "$point: the resumed run failed"; }
  grep -q "resuming from $ck/step-00000005 (step 5" $point.2.log || { cat $point.2.log; fail "$point: did not resume from step 5"; }
  same_adapters $run/adapters.h5 ref/adapters.h5
  [ -z "$(ls -d $ck/.tmp-* 2> /dev/null)" ] || fail "$point: the dead writer's temporary folder was not cleaned up: $(ls -d $ck/.tmp-*)"
  [ "$(cat $ck/latest)" = step-000000$STEPS ] || fail "$point: latest is $(cat $ck/latest) after the resumed run"
  echo "ok: kill at checkpoint.$point -> resumed from step 5, adapter identical to the uninterrupted run's"
done
# An I/O error (not a crash) in the middle of the write: a clean error exit, the temporary folder
# removed at once, `latest` unchanged, and the same command resumes.
write_experiment eio.yaml run_eio shards $STEPS 5
status=0
ASR_FAULT_INJECT=checkpoint.after_state_written:eio@2 timeout 120 "$BIN" train eio.yaml > eio.1.log 2>&1 || status=$?
[ "$status" -eq 1 ] || { cat eio.1.log; fail "eio: expected exit status 1, got $status"; }
grep -q "checkpoint of step 10 not written: run_eio/checkpoints/.tmp-step-00000010-[0-9]*/state.h5: Input/output error" eio.1.log ||
  { cat eio.1.log; fail "eio: the error does not name the file and the cause"; }
[ "$(cat run_eio/checkpoints/latest)" = step-00000005 ] || fail "eio: latest moved"
[ -z "$(ls -a run_eio/checkpoints | grep tmp)" ] || fail "eio: temporary files left: $(ls -a run_eio/checkpoints)"
timeout 120 "$BIN" train eio.yaml > eio.2.log 2>&1 || { cat eio.2.log; fail "eio: the resumed run failed"; }
same_adapters run_eio/adapters.h5 ref/adapters.h5
echo "ok: I/O error inside the checkpoint write -> clean error, step 5 kept, resumed, adapter identical"
echo "PASS: kill during checkpoint write, 3 moments, and an I/O error ($(elapsed) s)"
