// The summary table npm run bench prints (markdown, as the README shows it).

export function table(r: any): string {
  return [
    `| measure | figure |`,
    `|---|---|`,
    `| ingest, signed robot callbacks, ${r.ingest.concurrency} in flight | ${r.ingest.rps} rps against the bare commit's ${r.ingest.baselineRps} rps: ratio **${r.ingest.ratio}** |`,
    `| callback to consumer, long poll | p50 ${r.e2e.p50Ms} ms, p99 ${r.e2e.p99Ms} ms; floor p50 ${r.e2e.floorP50Ms} ms, p99 ${r.e2e.floorP99Ms} ms: ratio **${r.e2e.ratioP50}** |`,
    `| Stream frame to consumer, through the link | p50 ${r.streamE2e.p50Ms} ms, p99 ${r.streamE2e.p99Ms} ms; floor p50 ${r.streamE2e.floorP50Ms} ms, p99 ${r.streamE2e.floorP99Ms} ms: ratio **${r.streamE2e.ratioP50}** |`,
    `| one callback answered (one bare commit) | p50 ${r.callback.p50Ms} ms, p99 ${r.callback.p99Ms} ms (p50 ${r.callback.baselineCommitP50Ms} ms, p99 ${r.callback.baselineCommitP99Ms} ms) |`,
    `| backlog drain, 100 a pull, ${r.drain.backlog} events over as many conversations | ordering on ${r.drain.eventsPerSec} events/s against the bare lease-and-ack's ${r.drain.floorEventsPerSec}: ratio **${r.drain.ratio}** (ordering off ${r.drain.orderingOffEventsPerSec} events/s, ratio ${r.drain.orderingOffRatio}) |`,
    `| one pull of 10 | p50 ${r.pull.p50SmallMs} ms with 10 queued, ${r.pull.p50LargeMs} ms with ${r.pull.backlogLarge} queued over ${r.pull.conversationsLarge} conversations: ratio **${r.pull.ratio}** (ordering off ${r.pull.orderingOffP50LargeMs} ms, ratio ${r.pull.orderingOffRatio}) |`,
    `| runtime memory (${r.runtime === "serve" ? "dtbridge serve: workerd" : "wrangler dev, workerd"}) | ${r.memory.afterIngestMb} MB after ingest, ${r.memory.endMb} MB at the end; an idle link: ${r.memory.idleLinks.perLinkMb} MB (${r.memory.idleLinks.links} opened together) |`,
    `| the Worker's bundle | ${(r.bundle.bytes / 1024).toFixed(1)} KiB, gzip ${(r.bundle.gzipBytes / 1024).toFixed(1)} KiB |`,
    `| machine | ${r.machine.cpus} × ${r.machine.cpuModel}, ${r.machine.memoryGb} GB, Node ${r.machine.node}, workerd ${r.machine.workerd} |`,
  ].join("\n");
}
