# Sourced by cluster/train_*.sbatch inside a Slurm job: finds the binary and the run folder, sets
# the per-rank environment and runs the training step with the preemption protocol
# (cluster/README.md). Not a job script itself.
#
# Inputs (environment, all optional):
#   ASR_ROOT      the asr-adapt checkout (set by the job script)
#   ASR_ADAPT     the binary (default: $ASR_ROOT/build/bin/asr-adapt)
#   ASR_RUN_DIR   the run folder (default: runs/$SLURM_JOB_NAME, next to the slurm-%j.out log)
#   ASR_LAUNCHER  srun (default) | mpirun

asr_job_fail() {
  echo "asr-job: error: $*" >&2
  exit 2
}

# Sets ASR_ADAPT, ASR_RUN_DIR and the thread/MPI/NCCL environment of every rank.
asr_job_setup() {
  [ -n "${SLURM_JOB_ID:-}" ] || asr_job_fail "not inside a Slurm job (submit with sbatch)"
  ASR_ADAPT=${ASR_ADAPT:-$ASR_ROOT/build/bin/asr-adapt}
  [ -x "$ASR_ADAPT" ] || asr_job_fail "no asr-adapt binary at $ASR_ADAPT (set ASR_ADAPT or ASR_ROOT)"
  ASR_RUN_DIR=${ASR_RUN_DIR:-runs/$SLURM_JOB_NAME}
  mkdir -p "$ASR_RUN_DIR" || asr_job_fail "cannot create the run folder $ASR_RUN_DIR"

  # One OpenMP/OpenBLAS thread per CPU Slurm gave the task; unset, every rank would start one per
  # core of the node and the ranks would fight over them.
  export OMP_NUM_THREADS=${SLURM_CPUS_PER_TASK:-1}
  # Slurm 22.05's srun does not inherit --cpus-per-task from sbatch; this carries it over.
  export SRUN_CPUS_PER_TASK=${SLURM_CPUS_PER_TASK:-1}

  # --- OpenMPI (Debian's 4.1, built with PMIx; Slurm's srun --mpi=pmix wires it up) ----------
  # No InfiniBand verbs BTL: it warns on every machine without IB and UCX covers IB anyway.
  export OMPI_MCA_btl=${OMPI_MCA_btl:-^openib}
  # Clusters with several networks: pin MPI's TCP traffic to one, e.g. ib0 or eth0.
  #   export OMPI_MCA_btl_tcp_if_include=eth0
  # PMIx 4 + OpenMPI 4.1 can print "gds_ds12_lock_pthread" errors at start; the hash store avoids
  # its shared-memory dstore.
  export PMIX_MCA_gds=${PMIX_MCA_gds:-hash}

  # --- NCCL (trainer.device: cuda; the ncclUniqueId travels over MPI) ---------------------------
  # WARN prints only failures; INFO shows the rings/trees and transports chosen (first thing to
  # look at when multi-node is slow), with NCCL_DEBUG_SUBSYS=INIT,NET to narrow it.
  export NCCL_DEBUG=${NCCL_DEBUG:-WARN}
  # The interface for NCCL's bootstrap and socket transport; ^lo,docker excludes loopback and
  # container bridges, which otherwise may be picked and then cannot reach the other nodes.
  export NCCL_SOCKET_IFNAME=${NCCL_SOCKET_IFNAME:-^lo,docker}
  # InfiniBand: which HCAs NCCL may use (unset: all); NCCL_IB_DISABLE=1 forces sockets.
  #   export NCCL_IB_HCA=mlx5
  # NCCL_ASYNC_ERROR_HANDLING / TORCH_NCCL_ASYNC_ERROR_HANDLING are PyTorch's and do nothing here:
  # asr-adapt checks ncclCommGetAsyncError itself and fails a collective after its own deadline.

  echo "asr-job: job $SLURM_JOB_ID (restart ${SLURM_RESTART_COUNT:-0}) on $SLURM_JOB_NUM_NODES node(s):" \
    "${SLURM_NTASKS:-1} task(s) x $OMP_NUM_THREADS thread(s); run folder $ASR_RUN_DIR; $ASR_ADAPT"
}

# The launcher command line for the job's tasks, in the array ASR_LAUNCH.
asr_job_launcher() {
  case ${ASR_LAUNCHER:-srun} in
    srun)
      # pmix: Debian's OpenMPI has PMIx but no PMI-2 client, so --mpi=pmi2 fails in MPI_Init.
      # --kill-on-bad-exit: a rank that fails ends its peers at once instead of leaving them in a
      # collective until the deadline.
      ASR_LAUNCH=(srun --mpi=pmix --kill-on-bad-exit=1)
      ;;
    mpirun)
      # OpenMPI reads the allocation from Slurm (nodes, tasks per node) and starts its daemons
      # with srun; -x exports the variables to remote nodes too.
      ASR_LAUNCH=(mpirun --bind-to none -x OMP_NUM_THREADS -x NCCL_DEBUG -x NCCL_SOCKET_IFNAME)
      [ "$(id -u)" -ne 0 ] || ASR_LAUNCH+=(--allow-run-as-root)
      ;;
    *) asr_job_fail "ASR_LAUNCHER must be srun or mpirun, not '$ASR_LAUNCHER'" ;;
  esac
}

# Runs "$@" (the launcher and the trainer) in the background and waits for it. A USR1 or TERM to
# this batch shell is passed on to the launcher (srun and mpirun pass it to every task); the
# trainer finishes its step, checkpoints and exits 3, and then the job requeues itself. Exits
# 0 done, 3 checkpointed and requeued, 1 any other status of the step (not requeued).
asr_job_run_preemptible() {
  ASR_JOB_SIGNALS=0
  "$@" &
  local step_pid=$! status=0 rc seen
  trap 'ASR_JOB_SIGNALS=$((ASR_JOB_SIGNALS + 1)); echo "asr-job: SIGUSR1: asking the step to checkpoint and stop"; kill -USR1 '"$step_pid"' 2>/dev/null' USR1
  trap 'ASR_JOB_SIGNALS=$((ASR_JOB_SIGNALS + 1)); echo "asr-job: SIGTERM: asking the step to checkpoint and stop"; kill -TERM '"$step_pid"' 2>/dev/null' TERM
  while :; do
    seen=$ASR_JOB_SIGNALS
    wait "$step_pid"
    rc=$?
    [ $rc -eq 127 ] && break # already collected (a signal raced with its end): status holds it
    status=$rc
    # A trapped signal ends `wait` early with 128+n while the step is still running.
    [ "$ASR_JOB_SIGNALS" = "$seen" ] && break
  done
  trap - USR1 TERM

  case $status in
    0) echo "asr-job: training finished" ;;
    3)
      echo "asr-job: the step checkpointed and stopped (status 3); requeueing job $SLURM_JOB_ID"
      if ! scontrol requeue "$SLURM_JOB_ID"; then
        echo "asr-job: scontrol requeue failed (is the job requeueable? sbatch --requeue);" \
          "resubmit by hand: the run resumes from its last checkpoint" >&2
      fi
      ;;
    *)
      echo "asr-job: the step failed with status $status; not requeueing" >&2
      exit 1
      ;;
  esac
  exit "$status"
}
