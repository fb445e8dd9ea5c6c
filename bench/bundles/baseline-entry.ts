/**
 * The cold-import baseline: what every function pays for anyway, Powertools Logger and
 * Tracer, constructed at module load as each handler does.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Tracer } from '@aws-lambda-powertools/tracer';

const logger = new Logger({ serviceName: 'bench-baseline' });
const tracer = new Tracer({ serviceName: 'bench-baseline' });

export function handler(): Promise<boolean> {
  logger.info('baseline');
  return Promise.resolve(tracer.isTracingEnabled());
}
