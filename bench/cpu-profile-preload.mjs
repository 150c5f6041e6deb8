// bench/cpu-profile-preload.mjs — what `node --cpu-prof` does, for processes the harness forks.
// node refuses --cpu-prof in NODE_OPTIONS, and the harness forks its workers with execArgv of its
// own, so bench/profile.mjs loads this module into every process with NODE_OPTIONS=--import:
// the same V8 sampling profiler through node:inspector, written as <dir>/<pid>.cpuprofile at exit.
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { join } from 'node:path';

const dir = process.env.GSKIT_PROFILE_DIR;
if (dir) {
  const session = new Session();
  session.connect();
  session.post('Profiler.enable');
  session.post('Profiler.setSamplingInterval', { interval: 200 }); // µs
  session.post('Profiler.start');
  // A same-thread inspector session answers synchronously, so this completes inside 'exit'.
  process.on('exit', () => {
    session.post('Profiler.stop', (error, result) => {
      if (!error) writeFileSync(join(dir, `${process.pid}.cpuprofile`), JSON.stringify(result.profile));
    });
  });
}
