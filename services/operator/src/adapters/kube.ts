/**
 * The cluster through @kubernetes/client-node: server-side apply under the operator's field
 * manager (PATCH application/apply-patch+yaml, force), reads, deletes, the platform's status
 * subresource (also server-side applied), Events and the Secrets' current values. Reads of the
 * owned kinds come from the informers' caches (`Informers`).
 */
import * as k8s from '@kubernetes/client-node';
import type { ClusterPort } from '../domain/reconciler';
import type { SecretValues } from '../domain/render';
import {
  API_VERSION,
  FIELD_MANAGER,
  GROUP,
  KIND,
  PLATFORM_LABEL,
  PLURAL,
  VERSION,
  type CinemaPlatform,
  type KubeObject,
  type PlatformStatus,
} from '../domain/spec';
import type { Informers } from './informers';

export function loadKubeConfig(file?: string): k8s.KubeConfig {
  const kc = new k8s.KubeConfig();
  if (file) kc.loadFromFile(file);
  else kc.loadFromDefault();
  return kc;
}

/** The HTTP status of a client-node error (ApiException.code), if any. */
export function statusOf(err: unknown): number | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'number' ? code : undefined;
}

/** The API server's message of a failed request, else the error's. */
export function messageOf(err: unknown): string {
  const body = (err as { body?: unknown } | null)?.body;
  if (typeof body === 'string') {
    try {
      const parsed = JSON.parse(body) as { message?: string };
      if (parsed.message) return parsed.message;
    } catch {
      /* not JSON */
    }
  } else if (body && typeof body === 'object' && 'message' in body) {
    return String((body as { message: unknown }).message);
  }
  return err instanceof Error ? err.message : String(err);
}

export class KubeCluster implements ClusterPort {
  readonly objects: k8s.KubernetesObjectApi;
  private readonly custom: k8s.CustomObjectsApi;

  constructor(
    readonly kubeConfig: k8s.KubeConfig,
    private readonly informers: () => Informers | undefined = () => undefined,
  ) {
    this.objects = k8s.KubernetesObjectApi.makeApiClient(kubeConfig);
    this.custom = kubeConfig.makeApiClient(k8s.CustomObjectsApi);
  }

  async getPlatform(namespace: string, name: string): Promise<CinemaPlatform | undefined> {
    return (await this.read(API_VERSION, KIND, namespace, name)) as CinemaPlatform | undefined;
  }

  async apply(obj: KubeObject): Promise<KubeObject> {
    return (await this.objects.patch(
      obj as k8s.KubernetesObject,
      undefined,
      undefined,
      FIELD_MANAGER,
      true,
      k8s.PatchStrategy.ServerSideApply,
    )) as KubeObject;
  }

  async read(
    apiVersion: string,
    kind: string,
    namespace: string,
    name: string,
  ): Promise<KubeObject | undefined> {
    try {
      return (await this.objects.read({
        apiVersion,
        kind,
        metadata: { name, namespace },
      })) as KubeObject;
    } catch (err) {
      if (statusOf(err) === 404) return undefined;
      throw err;
    }
  }

  owned(platform: CinemaPlatform): KubeObject[] {
    return (this.informers()?.children(platform.metadata.namespace ?? '') ?? []).filter(
      (o) => o.metadata.labels?.[PLATFORM_LABEL] === platform.metadata.name,
    );
  }

  async delete(obj: KubeObject): Promise<void> {
    try {
      await this.objects.delete(
        obj as k8s.KubernetesObject,
        undefined,
        undefined,
        undefined,
        undefined,
        'Background',
      );
    } catch (err) {
      if (statusOf(err) !== 404) throw err;
    }
  }

  async applyStatus(platform: CinemaPlatform, status: PlatformStatus): Promise<void> {
    await this.custom.patchNamespacedCustomObjectStatus(
      {
        group: GROUP,
        version: VERSION,
        plural: PLURAL,
        namespace: platform.metadata.namespace ?? '',
        name: platform.metadata.name,
        body: {
          apiVersion: API_VERSION,
          kind: KIND,
          metadata: { name: platform.metadata.name, namespace: platform.metadata.namespace },
          status,
        },
        fieldManager: FIELD_MANAGER,
        force: true,
      },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.ServerSideApply),
    );
  }

  async event(
    platform: CinemaPlatform,
    type: 'Normal' | 'Warning',
    reason: string,
    message: string,
  ): Promise<void> {
    const now = new Date();
    const namespace = platform.metadata.namespace ?? '';
    await this.objects.create({
      apiVersion: 'v1',
      kind: 'Event',
      metadata: {
        namespace,
        name: `${platform.metadata.name}.${now.getTime().toString(16)}${Math.floor(Math.random() * 0xfff).toString(16)}`,
      },
      involvedObject: {
        apiVersion: API_VERSION,
        kind: KIND,
        name: platform.metadata.name,
        namespace,
        uid: platform.metadata.uid,
        resourceVersion: platform.metadata.resourceVersion,
      },
      reason,
      message,
      type,
      source: { component: FIELD_MANAGER },
      firstTimestamp: now.toISOString(),
      lastTimestamp: now.toISOString(),
      count: 1,
      reportingComponent: FIELD_MANAGER,
    } as k8s.KubernetesObject);
  }

  async readSecrets(namespace: string, names: string[]): Promise<SecretValues> {
    const out: SecretValues = {};
    for (const name of names) {
      const secret = (await this.read('v1', 'Secret', namespace, name)) as
        (KubeObject & { data?: Record<string, string> }) | undefined;
      if (!secret?.data) continue;
      out[name] = Object.fromEntries(
        Object.entries(secret.data).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]),
      );
    }
    return out;
  }

  /** GET /version: the API server answers. */
  async ping(): Promise<string> {
    const version = await this.kubeConfig.makeApiClient(k8s.VersionApi).getCode();
    return version.gitVersion;
  }
}
