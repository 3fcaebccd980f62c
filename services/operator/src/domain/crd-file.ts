/** The CRD as the YAML file the operator chart installs (charts/operator/crds/). */
import { stringify } from 'yaml';
import { crd } from './crd';

export const crdFile = 'charts/operator/crds/cinemaplatforms.cinema.dev.yaml';

export function crdYaml(): string {
  return (
    '# Generated from services/operator/src/domain/crd.ts by services/operator/scripts/write-crd.ts: do not edit.\n' +
    stringify(crd, { lineWidth: 0 })
  );
}
