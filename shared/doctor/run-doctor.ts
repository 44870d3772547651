import { diagnose } from './diagnose';
import type { DoctorOptions } from './doctor-options';
import type { DoctorPorts } from './doctor-ports';
import type { DoctorReport } from './doctor-report';
import { gatherFacts } from './gather-facts';

/** Gathers the facts of a deployment and checks them: `npm run doctor`'s use case. */
export async function runDoctor(options: DoctorOptions, ports: DoctorPorts): Promise<DoctorReport> {
  const facts = await gatherFacts(options, ports);
  return { stack: facts.stack.name, region: facts.stack.region, findings: diagnose(facts) };
}
