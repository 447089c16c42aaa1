import { Module } from '@nestjs/common';
import { AgentBuildsService } from './agent-builds.service.js';

/** The agent builds this API serves for `agent.update` (files, no tables). */
@Module({
  providers: [AgentBuildsService],
  exports: [AgentBuildsService],
})
export class AgentBuildsModule {}
