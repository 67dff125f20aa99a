/**
 * Lake views of host activity for the `host` feature set: one per OCSF class, over the objects of every third-party
 * source (custom `ext/` sources, which is where the OCSF ingest path puts events of any product other than AWS's own;
 * seclake's derived objects such as findings excluded):
 *
 * - `ocsf_process_activity` (1007), `ocsf_authentication` (3002), `ocsf_file_activity` (1001).
 *
 * CloudTrail sign-ins (also 3002) stay in `cloudtrail_auth`: they have no device. Registered with the lake on import
 * (like the `findings` view), so `seclake query` sees them too; `FEATURE_VIEWS` can be passed to createLakeViews.
 */
import { isDerivedObject } from '../../../lake/catalog.js';
import { registerLakeView, type LakeViewContext, type LakeViewDef } from '../../../lake/views.js';

/** View name -> OCSF class. */
export const HOST_VIEW_CLASSES: Readonly<Record<string, number>> = {
  ocsf_process_activity: 1007,
  ocsf_authentication: 3002,
  ocsf_file_activity: 1001,
};

function classView(name: string, classUid: number): LakeViewDef {
  return {
    name,
    build(ctx: LakeViewContext) {
      const paths = ctx.objects.filter((o) => o.class_uid === classUid && o.source.startsWith('EXT_') && !isDerivedObject(o)).map((o) => o.path);
      const sql = ctx.read(paths);
      return sql ? { sql, objects: paths.length } : { sql: 'SELECT NULL::BIGINT AS "time", NULL::INTEGER AS class_uid WHERE false', objects: 0 };
    },
  };
}

export const FEATURE_VIEWS: readonly LakeViewDef[] = Object.entries(HOST_VIEW_CLASSES).map(([name, uid]) => classView(name, uid));

for (const v of FEATURE_VIEWS) registerLakeView(v);
