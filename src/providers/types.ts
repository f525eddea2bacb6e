/** A provider template: how to build the agent image and how to run the agent. */
export interface Provider {
  readonly name: string;
  /** Folder with the Dockerfile (and its context) for the agent image. */
  readonly imageDir: string;
  /** The agent's user and home inside the image. */
  readonly user: string;
  readonly home: string;
  /** Command for an interactive session. */
  readonly interactiveArgv: readonly string[];
  /** Command for a headless run, given the prompt file inside the agent. */
  headlessArgv(promptFile: string): readonly string[];
  /** Hosts the provider itself needs (the egress issue wires these in). */
  readonly egressHosts: readonly string[];
}
