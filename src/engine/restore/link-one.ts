/**
 * One hard link follower put in place after its group's leader was restored (links.ts decides
 * whether it is linked, kept or copied), counted and reported like a restored file.
 */
import { IntegrityError } from "../../util/errors.ts";
import { linkFollower } from "./links.ts";
import { fail, isFatal, type Run } from "./run.ts";
import type { FileJob } from "./sink.ts";
import { fileMatches } from "./verify.ts";

/** Links one follower; counts it (a link shares its verified leader's inode) and reports it. */
export async function linkOne(run: Run, leader: FileJob, f: FileJob): Promise<void> {
  const { progress, summary } = run;
  const verify = run.options.verify ?? false;
  progress.fileStarted(f.display);
  try {
    const result = linkFollower(leader, f, { copyAgain: verify });
    if (
      result === "copied" &&
      verify &&
      !(await fileMatches(run.repo, run.target, f.path, f.node, run.signal))
    ) {
      throw new IntegrityError("verification failed: the copied file does not match its blobs");
    }
    if (verify) summary.files_verified++;
    run.options.onFile?.(f.display, result === "kept" ? "unchanged" : "restored", f.node.size);
    if (result === "kept") {
      summary.files_skipped++;
      summary.bytes_skipped += f.node.size;
    } else {
      summary.files_restored++;
      if (result === "linked") summary.files_linked++;
      else copiedNotice(run, leader, f);
    }
  } catch (e) {
    if (isFatal(run, e)) throw e;
    fail(run, f.display, e);
  }
  progress.addBytes(f.node.size);
  progress.fileDone(f.display);
  progress.tick();
}

function copiedNotice(run: Run, leader: FileJob, f: FileJob): void {
  run.summary.bytes_written += f.node.size;
  const notice = {
    path: f.display,
    message: `copied: the file system refused a hard link to ${leader.display}`,
  };
  run.summary.notices.push(notice);
  run.options.onNotice?.(notice);
}
