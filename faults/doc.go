// Package faults is jetflow's fault suite: it checks the promises of the
// design ("Guarantees" in DESIGN.md) by breaking real things while many
// workflows run, and then auditing every run.
//
// Nothing of NATS is imitated. The tests run a real nats-server (file
// store) in the test process, listening on 127.0.0.1 on a random port;
// the workers are real OS processes (testworker, built by TestMain with
// go build, without -race) that the tests SIGKILL; cluster nodes are
// either embedded.StartCluster's or, where a node must die without a
// graceful hand-over, nats-server processes of their own (testnode). A
// small TCP proxy that reads the NATS protocol a worker sends makes the
// precise faults: a publish lost right after a commit, a commit lost in
// transit, a connection frozen.
//
// # Workload and audit
//
// Flow (workload.go) runs two activities in parallel and a third on their
// results, sleeps on a durable timer (200–500 ms), waits for N signals and
// returns everything it got; its result is known from its input and the
// signals the test sent. Each activity application is appended as a line
// to a per-process file (O_APPEND, one write per line), so applications are
// counted across processes, killed ones included. After each scenario
// every run is audited (env.audit): the result is exactly right; the
// history begins with WorkflowStarted; every commit of the history was
// stored with a sequence check on its predecessor (the
// Nats-Expected-Last-Subject-Sequence header, read back with the stored
// message); event IDs run 1, 2, 3, … without gap or repeat; no inbound event is in the history twice; every ActivityScheduled
// has exactly one ActivityCompleted; the timer fired once; every signal
// sent is in the history once; every scheduled activity ran at least once
// and nothing unscheduled ran. While waiting for the runs to finish, a
// scenario fails at once ("LOST WORK") when the task and activity streams
// are empty — nothing queued, nothing unacknowledged — while a run is
// unfinished: no worker can ever move it again.
//
// Chain (workload.go) is the second workload, for what Flow does not do:
// each of its first runs starts a child workflow (Leaf, one activity) and
// continues as new with the child's result; its last run takes updates
// (client.UpdateWorkflow with an update ID of the test's own, retried with
// the same ID after an unknown outcome), each running an activity in its
// handler, and returns once all are applied. Its result, each child's and
// each update's answer follow from its input. The soak audits it
// (env.auditChains): every run passes the history checks above, the runs
// are linked in order by ContinuedExecutionID, each child ran once and
// returned its result once, each update was accepted and completed once
// with its answer.
//
// # Scenarios
//
//   - TestWorkerProcessesKilled: three worker processes (one without the
//     executor cache), one SIGKILLed every 150–600 ms and started again
//     (sometimes after a while), while flows start, run and get signals
//     (client.SignalWorkflow) all through the kills.
//   - TestServerRestart: the embedded server is shut down and started
//     again on the same port and folder, several times; the worker
//     processes reconnect by themselves (MaxReconnects(-1)). Logs the
//     pause of commits around each restart.
//   - TestClusterLeaderStopped: a 3-node cluster (embedded.StartCluster),
//     every stream and consumer R3; the node leading the most of the
//     namespace's streams is stopped (Stop(i)) and later restarted
//     (Restart(i)). Logs how long commits paused. nats-server hands its
//     leaderships over on a graceful shutdown, so the pause is short.
//   - TestClusterLeaderCrashed: the same with testnode processes and the
//     leader SIGKILLed: the cluster must notice and elect on its own.
//     Both also publish to a plain R3 JetStream stream led by the lost
//     node (jsProbe) and log its pause beside jetflow's: NATS's own
//     failover time. -failover N loses the leader N times and prints the
//     figures as a table (docs/performance.md, "Failover").
//   - TestConcurrentWorkersOneCommitWins: two workers (cache off) run the
//     same task of the same instance at once (one is held inside the
//     workflow code until the 300 ms ack wait hands the message to the
//     other); a core subscription on the history subjects sees both
//     commit attempts: one is stored, the other refused by the sequence
//     check; the history is whole and the result right.
//   - TestLostSideEffectPublish: a worker process commits and dies before
//     the commit's side effect reaches JetStream (the proxy drops the
//     activity-task publish, the timer schedule, or the final registry
//     update, and the test SIGKILLs the process); the test checks the
//     effect is really missing, then a new worker recovers it from the
//     redelivered inbox message and the run completes.
//   - TestScheduleFiresWorkerKilled: a schedule fires every second into
//     two worker processes; one SIGKILLs itself at an exact step of a
//     fire's handling (instance registered / start stored / fire recorded,
//     internal/crashpoint, testworker -crashat) and is started again, the
//     other is SIGKILLed at random moments. Every fire from the first to
//     the last recorded started exactly one instance with one run that
//     completed; the record counts each fire once and misses none.
//   - TestScheduleServerRestart: a worker process dies between recording
//     a fire and arming the next, the server is restarted (down while two
//     fires come due) with no worker running: the record and the missing
//     message schedule disagree across the restart; a worker started
//     after it puts them back in line and the outage's fires are caught
//     up, each started once.
//   - TestClusterSoak (issue 23): a 3-node testnode cluster, every stream
//     R3, several worker processes, Flow and Chain at once, and through
//     the run, interleaved: worker SIGKILLs (and restarts), graceful node
//     restarts (testnode shuts down on SIGTERM), SIGKILLs of the node
//     leading the most streams, and one full-cluster restart (every node
//     stopped, then all started; the workers reconnect by themselves).
//     After each node fault it waits until every stream's replicas are
//     current again. Both audits, and a summary line of the counts
//     ("SOAK SUMMARY"). CI: 210 workflows (150 Flow, 60 Chain), 8 worker
//     SIGKILLs, 2 node restarts, 1 leader SIGKILL, 1 full-cluster restart,
//     about a minute; -soak: 10,000 workflows, 100 worker SIGKILLs, 10 node
//     restarts, 3 leader SIGKILLs, 1 full-cluster restart (figures in
//     docs/performance.md, "Soak (issue 23)").
//   - Regression tests for bugs this suite found, each making the fault
//     precisely (see their comments): TestStaleCachedExecutorKeepsAnswer
//     (a stale cached executor acked answers it did not know),
//     TestLostCommitAnswerDoesNotStallRun (a request under a long caller
//     deadline waited for all of it when its answer was lost),
//     TestFailedRepublishIsHandedBack (a failed recovery of side effects
//     was acked and the effects lost),
//     TestSignalBeforeDelayedStartWaits (a signal that waited for a late
//     start was dead-lettered), TestStartHealFailureIsNotAlreadyExists
//     (a start whose heal failed reported ErrInstanceAlreadyExists),
//     TestSignalQueuedBeforeStartComesAfterIt (a signal delivered ahead
//     of its run's start began the history, which no worker could load
//     again).
//
// Signals in the restart and cluster scenarios are published straight to
// the inbox with a message ID of the test's own, retried until stored:
// client.SignalWorkflow gives every call a fresh ID, so a signal whose
// publish had an unknown outcome (the server went away) cannot be retried
// through it without risking a double.
//
// # Running
//
// The CI version (about 3 minutes on 2 cores with -race, TestClusterSoak
// a minute of it):
//
//	go test -race ./faults
//
// Random choices (kill moments, outage lengths, timers, signal order) come
// from a seed logged by every test; rerun one with
//
//	go test -race ./faults -run TestWorkerProcessesKilled -faults.seed=N
//
// or FAULTS_SEED=N. Other knobs: FAULTS_WORKER_NOCACHE=1 turns the executor
// cache off in every worker process; FAULTS_WORKER_LOG=debug sets the
// worker processes' log level (their output is logged when a test fails);
// FAULTS_WORKER_RACE=1 builds the helper processes with -race.
//
// # Soak
//
// The soak version runs every scenario longer and bigger: about 1000
// workflows and two minutes of kills, 15 server restarts, 6 lost cluster
// leaders, 5 signals per workflow; TestClusterSoak runs issue 23's
// production size (above). It takes 40 minutes or more, TestClusterSoak
// about 21 of them on a busy 2-core machine:
//
//	go test -race -timeout 3h ./faults -soak
//	FAULTS_SOAK=1 go test -race -timeout 3h ./faults
//	go test -timeout 3h ./faults -run TestClusterSoak -soak -v
//
// Run it before a release, and after any change to the worker's task
// handling, the streams layer or the client's start and signal paths.
package faults
