// `lab doctor`: what this machine has of what the lab needs, and the fix for each missing item. Kernel
// features come from the one feature probe (lab/features), which tries them for real in a scratch
// pod; each backend of the registry is then supported, unsupported on this kernel (naming the
// feature), or waiting for a tool.
import { allBackends } from '../backends/index.ts';
import { probeKernelFeatures } from '../features/probe.ts';
import { run } from '../host/exec.ts';
import { assembleDoctorReport, type DoctorItem, type DoctorReport } from './report.ts';
import { LAB_TOOLS, SETUP_FIX, VERSION_ARGS, type ToolSpec } from './requirements.ts';

export type { DoctorItem, DoctorReport } from './report.ts';

async function probeTool(tool: ToolSpec): Promise<DoctorItem> {
  try {
    const result = await run(tool.command, tool.versionArgs ?? VERSION_ARGS[tool.command] ?? ['--version'], { allowFailure: true, timeoutMs: 5000 });
    const text = (result.stdout + result.stderr).trim();
    const version = text.split('\n').find((l) => /\d+\.\d+/.test(l))?.trim() ?? text.split('\n')[0] ?? '';
    if (tool.mustContain && !text.includes(tool.mustContain)) {
      return { name: tool.command, ok: false, required: tool.required, detail: `${version} (not ${tool.mustContain})`, fix: tool.fix };
    }
    return { name: tool.command, ok: true, required: tool.required, detail: version.slice(0, 100) };
  } catch {
    return { name: tool.command, ok: false, required: tool.required, detail: 'not installed', fix: tool.fix };
  }
}

/** The lab's own tools, then every tool a registered backend names, once each. */
function toolSpecs(backendTools: readonly string[]): ToolSpec[] {
  const specs = [...LAB_TOOLS];
  for (const command of backendTools) {
    if (!specs.some((s) => s.command === command)) specs.push({ command, required: true, fix: SETUP_FIX });
  }
  return specs;
}

function rootItem(): DoctorItem {
  const uid = process.getuid?.();
  return uid === 0 ? { name: 'root', ok: true, required: true, detail: 'running as root' } : { name: 'root', ok: false, required: true, detail: `running as uid ${uid}`, fix: 'run the lab with sudo' };
}

export async function runDoctor(): Promise<DoctorReport> {
  const backends = allBackends();
  const kernel = await probeKernelFeatures();
  const items = [rootItem(), ...(await Promise.all(toolSpecs(backends.flatMap((b) => b.requires.tools)).map(probeTool)))];
  return assembleDoctorReport({ kernelRelease: kernel.kernelRelease, results: kernel.results, items, backends });
}
