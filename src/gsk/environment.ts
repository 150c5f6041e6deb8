/** gsk_environment_open / _init / _close. */
import { EnvironmentCore } from "../core/environment.js";
import { box, environmentOf, registerEnvironment, unregister, type gsk_handle } from "./handles.js";
import { callAsync, callSync } from "./call.js";

/** Allocates an environment with default attributes: `rc = gsk_environment_open(envBox)`. */
export function gsk_environment_open(my_env_handle: unknown): number {
  return callSync("gsk_environment_open", () => {
    const out = box<gsk_handle>(my_env_handle, "my_env_handle");
    out.value = registerEnvironment(new EnvironmentCore());
  });
}

/**
 * Opens the key store or application ID, checks the configuration and builds the TLS context
 * that every session of this environment reuses. A failed init can be retried once fixed.
 */
export function gsk_environment_init(my_env_handle: unknown): Promise<number> {
  return callAsync("gsk_environment_init", () => environmentOf(my_env_handle).init());
}

/** Frees the environment and clears the box. Sessions already open keep working. */
export function gsk_environment_close(my_env_handle: unknown): number {
  return callSync("gsk_environment_close", () => {
    const handleBox = box<gsk_handle>(my_env_handle, "my_env_handle");
    const core = environmentOf(handleBox.value);
    core.close();
    unregister(handleBox.value!);
    handleBox.value = undefined;
  });
}
